function ConvertFrom-EcsTaskTime {
    # The UTC [datetime] of a time ConvertTo-EcsTaskTime wrote.
    param([Parameter(Mandatory = $true)][string]$Text)
    return [datetime]::Parse($Text, [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AdjustToUniversal)
}

function Test-EcsTaskIdle {
    # A task is idle when it is neither Queued nor Running and, if it is an enabled startup task registered before
    # this boot, has run since the boot (Ready but not yet fired at startup is not idle: it is about to run).
    # "Since the boot" allows $EcsSameBootToleranceSeconds: LastBootUpTime is now minus the uptime, so after a clock
    # step it reads later than the times Task Scheduler recorded before the step (a reboot takes minutes).
    param($Facts, [datetime]$BootTime)
    $BootTime = $BootTime.AddSeconds(-1 * $EcsSameBootToleranceSeconds)
    if ($null -eq $Facts) {
        return $true
    }
    if (@('Queued', 'Running') -contains $Facts.state) {
        return $false
    }
    if (-not $Facts.enabled -or -not $Facts.at_startup) {
        return $true
    }
    # Registered during this boot (by an Initialize-ECSAgent run since the boot): it fires at the next boot only.
    if ($null -ne $Facts.registered_time -and (ConvertFrom-EcsTaskTime -Text $Facts.registered_time) -ge $BootTime) {
        return $true
    }
    if ($null -eq $Facts.last_run_time) {
        return $false
    }
    return (ConvertFrom-EcsTaskTime -Text $Facts.last_run_time) -ge $BootTime
}

function Invoke-EcsOpWaitTaskIdle {
    # Waits up to timeout_s while a scheduled task (ECSTools' \Initialize-ECSHostReboot) is Queued, Running or an
    # enabled startup task that has not yet run since this boot, so that two Initialize-ECSAgent runs never
    # overlap. A missing task is idle (state null). With busy_error, a task still busy is an error (`busy`), so
    # that the ops after this one in the batch do not run.
    param($Arguments)
    $taskPath = [string]$Arguments.task_path
    $taskName = [string]$Arguments.task_name
    $timeoutSeconds = [int]$Arguments.timeout_s
    foreach ($value in @($taskPath, $taskName)) {
        if ($value.Length -eq 0 -or $value -match '[*?\[\]]') {
            New-EcsOpError -Category 'invalid_argument' -Message ("task_path and task_name must be non-empty and without wildcards, got '{0}'" -f $value)
        }
    }
    # In whole seconds, as the task times are.
    $bootTime = ConvertFrom-EcsTaskTime -Text (ConvertTo-EcsTaskTime -Time (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime)
    $stopwatch = [System.Diagnostics.Stopwatch]::StartNew()
    while ($true) {
        $task = Get-EcsScheduledTask -TaskPath $taskPath -TaskName $taskName
        $facts = $null
        if ($null -ne $task) {
            $facts = Get-EcsScheduledTaskFacts -Task $task
        }
        $idle = Test-EcsTaskIdle -Facts $facts -BootTime $bootTime
        if ($idle -or $stopwatch.Elapsed.TotalSeconds -ge $timeoutSeconds) {
            break
        }
        Start-Sleep -Seconds 2
    }
    $state = $null
    $lastRun = $null
    if ($null -ne $facts) {
        $state = $facts.state
        $lastRun = $facts.last_run_time
    }
    if (-not $idle -and $Arguments.busy_error -eq $true) {
        New-EcsOpError -Category 'busy' -Message ("scheduled task {0}{1} is {2} (last run {3}); waited {4} s" -f $taskPath, $taskName, $state, $lastRun, $timeoutSeconds)
    }
    return [ordered]@{ state = $state; last_run_time = $lastRun; idle = [bool]$idle; waited_s = [System.Math]::Round($stopwatch.Elapsed.TotalSeconds, 1) }
}
