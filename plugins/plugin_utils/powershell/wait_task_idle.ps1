function Invoke-EcsOpWaitTaskIdle {
    # Waits while a scheduled task (e.g. ECSTools' \Initialize-ECSHostReboot) is Running, so that two
    # boot-time fixes never run Initialize-ECSAgent at the same time. A missing task is idle (state null).
    param($Arguments)
    $taskPath = [string]$Arguments.task_path
    $taskName = [string]$Arguments.task_name
    $timeoutSeconds = [int]$Arguments.timeout_s
    foreach ($value in @($taskPath, $taskName)) {
        if ($value.Length -eq 0 -or $value -match '[*?\[\]]') {
            New-EcsOpError -Category 'invalid_argument' -Message ("task_path and task_name must be non-empty and without wildcards, got '{0}'" -f $value)
        }
    }
    $stopwatch = [System.Diagnostics.Stopwatch]::StartNew()
    $state = $null
    while ($true) {
        $task = Get-EcsScheduledTask -TaskPath $taskPath -TaskName $taskName
        $state = $null
        if ($null -ne $task) {
            $state = $task.State.ToString()
        }
        if ($state -ne 'Running' -or $stopwatch.Elapsed.TotalSeconds -ge $timeoutSeconds) {
            break
        }
        Start-Sleep -Seconds 2
    }
    return [ordered]@{ state = $state; waited_s = [System.Math]::Round($stopwatch.Elapsed.TotalSeconds, 1) }
}
