function Invoke-EcsOpWaitRegistered {
    # Polls the agent's introspection endpoint for one short round until it reports a ContainerInstanceArn for the
    # cluster. Running out of time is a result (registered = false), not an error: the controller decides, and
    # polls again in another round while its own registration timeout lasts.
    param($Arguments)
    $cluster = [string]$Arguments.cluster
    $timeoutSeconds = [int]$Arguments.timeout_s
    $intervalSeconds = [int]$Arguments.interval_s
    if ($timeoutSeconds -lt 0 -or $timeoutSeconds -gt 60 -or $intervalSeconds -lt 1) {
        New-EcsOpError -Category 'invalid_argument' -Message ('timeout_s must be 0-60 and interval_s >= 1, got {0} and {1}' -f $timeoutSeconds, $intervalSeconds)
    }
    $stopwatch = [System.Diagnostics.Stopwatch]::StartNew()
    while ($true) {
        $registration = Get-EcsRegistration
        $registered = $registration.reachable -and ($null -ne $registration.container_instance_arn) -and ($registration.cluster -ceq $cluster)
        $remaining = $timeoutSeconds - $stopwatch.Elapsed.TotalSeconds
        if ($registered -or $remaining -le 0) {
            break
        }
        Start-Sleep -Milliseconds ([int](1000 * [System.Math]::Min($intervalSeconds, $remaining)))
    }
    return [ordered]@{
        registered = [bool]$registered
        cluster = $registration.cluster
        container_instance_arn = $registration.container_instance_arn
        waited_s = [System.Math]::Round($stopwatch.Elapsed.TotalSeconds, 1)
    }
}
