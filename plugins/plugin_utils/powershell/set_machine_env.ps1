function Invoke-EcsOpSetMachineEnv {
    # Sets and removes Machine-scope environment variables (the Windows agent's configuration, host-facts.md section 1.2),
    # writing only what differs, under the spelling a name already has (names are case-insensitive). `changed`
    # lists the names written, then the names removed.
    param($Arguments)
    $namePattern = '^[A-Za-z_][A-Za-z0-9_]*$'
    $toSet = New-Object -TypeName System.Collections.Generic.List[object]
    if ($null -ne $Arguments.set) {
        foreach ($property in $Arguments.set.PSObject.Properties) {
            if ($property.Name -notmatch $namePattern) {
                New-EcsOpError -Category 'invalid_argument' -Message ("set: '{0}' is not a valid environment variable name" -f $property.Name)
            }
            if (-not ($property.Value -is [string]) -or $property.Value.Length -eq 0) {
                New-EcsOpError -Category 'invalid_argument' -Message ("set: {0} needs a non-empty string value (an empty value would delete it: use remove)" -f $property.Name)
            }
            if ($property.Value.Length -gt 32767 -or $property.Value.IndexOf([char]0) -ge 0) {
                New-EcsOpError -Category 'invalid_argument' -Message ("set: the value of {0} must be at most 32767 characters without NUL" -f $property.Name)
            }
            $toSet.Add($property)
        }
    }
    $toRemove = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($name in @($Arguments.remove)) {
        if (-not ($name -is [string]) -or $name -notmatch $namePattern) {
            New-EcsOpError -Category 'invalid_argument' -Message ("remove: '{0}' is not a valid environment variable name" -f $name)
        }
        foreach ($property in $toSet) {
            if ($property.Name -eq $name) {
                New-EcsOpError -Category 'invalid_argument' -Message ("{0} is both in set and in remove" -f $name)
            }
        }
        $toRemove.Add($name)
    }
    $changed = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($property in $toSet) {
        if (Set-EcsMachineVariable -Name $property.Name -Value $property.Value) {
            $changed.Add($property.Name)
        }
    }
    foreach ($name in $toRemove) {
        if (Remove-EcsMachineVariable -Name $name) {
            $changed.Add($name)
        }
    }
    return [ordered]@{ changed = $changed.ToArray() }
}
