function Get-EcsBootTaskArguments {
    # The task's command line arguments; the path is the collection's own (no quotes can occur in it).
    return '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{0}"' -f $EcsBootScriptPath
}

function Set-EcsBootTaskScript {
    # Writes the script as UTF-8 with BOM (how Windows PowerShell 5.1 reads a .ps1 as UTF-8) when the file
    # differs. Returns whether it wrote. The folder is secured first (Initialize-EcsBootFolder).
    param([Parameter(Mandatory = $true)][string]$Content)
    $encoding = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $true
    $preamble = $encoding.GetPreamble()
    $body = $encoding.GetBytes($Content)
    $expected = New-Object -TypeName 'byte[]' -ArgumentList ($preamble.Length + $body.Length)
    [System.Array]::Copy($preamble, 0, $expected, 0, $preamble.Length)
    [System.Array]::Copy($body, 0, $expected, $preamble.Length, $body.Length)
    if (Test-Path -LiteralPath $EcsBootScriptPath -PathType Leaf) {
        $current = [System.IO.File]::ReadAllBytes($EcsBootScriptPath)
        if ([System.Convert]::ToBase64String($current) -ceq [System.Convert]::ToBase64String($expected)) {
            return $false
        }
    }
    [System.IO.File]::WriteAllBytes($EcsBootScriptPath, $expected)
    return $true
}

function Test-EcsBootTaskCurrent {
    # Whether the existing task already is exactly the wanted one.
    param($Task, [string]$CommandArguments, [string]$Delay, [string]$Limit, [string]$Description)
    if ($null -eq $Task) {
        return $false
    }
    $facts = Get-EcsScheduledTaskFacts -Task $Task
    # Durations compare as durations: Task Scheduler may store PT90S as PT1M30S.
    $sameDelay = ($null -ne $facts.delay) -and ([System.Xml.XmlConvert]::ToTimeSpan($facts.delay) -eq [System.Xml.XmlConvert]::ToTimeSpan($Delay))
    $sameLimit = ($null -ne $facts.execution_limit) -and ([System.Xml.XmlConvert]::ToTimeSpan($facts.execution_limit) -eq [System.Xml.XmlConvert]::ToTimeSpan($Limit))
    return ($facts.execute -eq 'PowerShell.exe') -and ($facts.arguments -ceq $CommandArguments) -and $facts.at_startup -and $sameDelay -and $sameLimit -and $facts.enabled -and (@($Task.Actions).Count -eq 1) -and (@('SYSTEM', 'NT AUTHORITY\SYSTEM') -contains $facts.principal) -and ([string]$Task.Description -ceq $Description)
}

function Invoke-EcsOpBootTask {
    # Installs (or removes) the AtStartup task, run as SYSTEM, that executes the boot recovery script:
    # PowerShell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "<boot script>". The script lives in
    # the boot folder, which is secured (owner, ACL) before anything is written there.
    param($Arguments)
    $state = [string]$Arguments.state
    $scriptText = $Arguments.script
    $delay = [string]$Arguments.delay
    $limitSeconds = [int]$Arguments.execution_limit_s
    $description = [string]$Arguments.description
    if (@('present', 'absent') -cnotcontains $state) {
        New-EcsOpError -Category 'invalid_argument' -Message ("state must be present or absent, got '{0}'" -f $state)
    }
    if ($delay -notmatch '^PT[0-9]+S$') {
        New-EcsOpError -Category 'invalid_argument' -Message ("delay must be an ISO 8601 duration like PT30S, got '{0}'" -f $delay)
    }
    if ($null -ne $scriptText -and -not ($scriptText -is [string])) {
        New-EcsOpError -Category 'invalid_argument' -Message 'script must be a string or null'
    }
    $task = Get-EcsScheduledTask -TaskPath $EcsBootTaskPath -TaskName $EcsBootTaskName
    $changed = $false
    if ($state -eq 'absent') {
        if ($null -ne $task) {
            Unregister-ScheduledTask -TaskPath $EcsBootTaskPath -TaskName $EcsBootTaskName -Confirm:$false
            $changed = $true
        }
        if (Test-Path -LiteralPath $EcsBootScriptPath -PathType Leaf) {
            Remove-Item -LiteralPath $EcsBootScriptPath -Force
            $changed = $true
        }
        return [ordered]@{ changed = $changed; secured = $false }
    }
    $secured = Initialize-EcsBootFolder
    if ($null -ne $scriptText) {
        $changed = Set-EcsBootTaskScript -Content $scriptText
    }
    $taskArguments = Get-EcsBootTaskArguments
    $limit = [System.Xml.XmlConvert]::ToString([System.TimeSpan]::FromSeconds($limitSeconds))
    if (-not (Test-EcsBootTaskCurrent -Task $task -CommandArguments $taskArguments -Delay $delay -Limit $limit -Description $description)) {
        $action = New-ScheduledTaskAction -Execute 'PowerShell.exe' -Argument $taskArguments
        $trigger = New-ScheduledTaskTrigger -AtStartup
        $trigger.Delay = $delay
        $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
        $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([System.TimeSpan]::FromSeconds($limitSeconds)) -MultipleInstances IgnoreNew
        $registration = @{ TaskPath = $EcsBootTaskPath; TaskName = $EcsBootTaskName; Action = $action; Trigger = $trigger; Principal = $principal; Settings = $settings; Force = $true }
        if ($description.Length -gt 0) {
            $registration.Description = $description
        }
        $null = Register-ScheduledTask @registration
        $changed = $true
    }
    return [ordered]@{ changed = ($changed -or $secured); secured = $secured }
}
