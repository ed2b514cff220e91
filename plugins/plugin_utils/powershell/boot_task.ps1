function Get-EcsBootTaskArguments {
    # The task's command line arguments; the path was validated (no quotes can occur in it).
    param([Parameter(Mandatory = $true)][string]$ScriptPath)
    return '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{0}"' -f $ScriptPath
}

function Set-EcsBootTaskScript {
    # Writes the script as UTF-8 with BOM (how Windows PowerShell 5.1 reads a .ps1 as UTF-8) when the
    # file differs. Returns whether it wrote.
    param(
        [Parameter(Mandatory = $true)][string]$Path,
        [Parameter(Mandatory = $true)][string]$Content
    )
    $encoding = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $true
    $preamble = $encoding.GetPreamble()
    $body = $encoding.GetBytes($Content)
    $expected = New-Object -TypeName 'byte[]' -ArgumentList ($preamble.Length + $body.Length)
    [System.Array]::Copy($preamble, 0, $expected, 0, $preamble.Length)
    [System.Array]::Copy($body, 0, $expected, $preamble.Length, $body.Length)
    if (Test-Path -LiteralPath $Path -PathType Leaf) {
        $current = [System.IO.File]::ReadAllBytes($Path)
        if ([System.Convert]::ToBase64String($current) -ceq [System.Convert]::ToBase64String($expected)) {
            return $false
        }
    }
    $directory = [System.IO.Path]::GetDirectoryName($Path)
    if (-not (Test-Path -LiteralPath $directory -PathType Container)) {
        $null = New-Item -ItemType Directory -Path $directory -Force
    }
    [System.IO.File]::WriteAllBytes($Path, $expected)
    return $true
}

function Test-EcsBootTaskCurrent {
    # Whether the existing task already is exactly the wanted one.
    param($Task, [string]$CommandArguments, [string]$Delay, [string]$Description)
    if ($null -eq $Task) {
        return $false
    }
    $facts = Get-EcsScheduledTaskFacts -Task $Task
    $principal = [string]$Task.Principal.UserId
    # Delays compare as durations: Task Scheduler may store PT90S as PT1M30S.
    $sameDelay = ($null -ne $facts.delay) -and ([System.Xml.XmlConvert]::ToTimeSpan($facts.delay) -eq [System.Xml.XmlConvert]::ToTimeSpan($Delay))
    return ($facts.execute -eq 'PowerShell.exe') -and ($facts.arguments -ceq $CommandArguments) -and $facts.at_startup -and $sameDelay -and $facts.enabled -and (@($Task.Actions).Count -eq 1) -and ($principal -eq 'SYSTEM' -or $principal -eq 'NT AUTHORITY\SYSTEM') -and ([string]$Task.Description -ceq $Description)
}

function Invoke-EcsOpBootTask {
    # Installs (or removes) the AtStartup task, run as SYSTEM, that executes the boot recovery script:
    # PowerShell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "<script_path>".
    param($Arguments)
    $state = [string]$Arguments.state
    $taskPath = [string]$Arguments.task_path
    $taskName = [string]$Arguments.task_name
    $scriptPath = Assert-EcsWindowsPath -Value $Arguments.script_path -Name 'script_path'
    $scriptText = $Arguments.script
    $delay = [string]$Arguments.delay
    $description = [string]$Arguments.description
    if (@('present', 'absent') -cnotcontains $state) {
        New-EcsOpError -Category 'invalid_argument' -Message ("state must be present or absent, got '{0}'" -f $state)
    }
    if ($taskPath -notmatch '^\\([^*?\[\]]*\\)?$') {
        New-EcsOpError -Category 'invalid_argument' -Message ("task_path must start and end with \ and contain no wildcards, got '{0}'" -f $taskPath)
    }
    if ($taskName.Length -eq 0 -or $taskName -match '[\\*?\[\]]') {
        New-EcsOpError -Category 'invalid_argument' -Message ("task_name must be a non-empty name without \ or wildcards, got '{0}'" -f $taskName)
    }
    if (-not $scriptPath.EndsWith('.ps1', [System.StringComparison]::OrdinalIgnoreCase)) {
        New-EcsOpError -Category 'invalid_argument' -Message ("script_path must name a .ps1 file (PowerShell.exe -File needs it), got '{0}'" -f $scriptPath)
    }
    if ($delay -notmatch '^PT[0-9]+[SM]$') {
        New-EcsOpError -Category 'invalid_argument' -Message ("delay must be an ISO 8601 duration like PT30S, got '{0}'" -f $delay)
    }
    if ($null -ne $scriptText -and -not ($scriptText -is [string])) {
        New-EcsOpError -Category 'invalid_argument' -Message 'script must be a string or null'
    }
    $task = Get-EcsScheduledTask -TaskPath $taskPath -TaskName $taskName
    $changed = $false
    if ($state -eq 'absent') {
        if ($null -ne $task) {
            Unregister-ScheduledTask -TaskPath $taskPath -TaskName $taskName -Confirm:$false
            $changed = $true
        }
        if (Test-Path -LiteralPath $scriptPath -PathType Leaf) {
            Remove-Item -LiteralPath $scriptPath -Force
            $changed = $true
        }
        return [ordered]@{ changed = $changed }
    }
    if ($null -ne $scriptText) {
        $changed = Set-EcsBootTaskScript -Path $scriptPath -Content $scriptText
    }
    $taskArguments = Get-EcsBootTaskArguments -ScriptPath $scriptPath
    if (-not (Test-EcsBootTaskCurrent -Task $task -CommandArguments $taskArguments -Delay $delay -Description $description)) {
        $action = New-ScheduledTaskAction -Execute 'PowerShell.exe' -Argument $taskArguments
        $trigger = New-ScheduledTaskTrigger -AtStartup
        $trigger.Delay = $delay
        $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
        $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit (New-TimeSpan -Hours 1) -MultipleInstances IgnoreNew
        $registration = @{ TaskPath = $taskPath; TaskName = $taskName; Action = $action; Trigger = $trigger; Principal = $principal; Settings = $settings; Force = $true }
        if ($description.Length -gt 0) {
            $registration.Description = $description
        }
        $null = Register-ScheduledTask @registration
        $changed = $true
    }
    return [ordered]@{ changed = $changed }
}
