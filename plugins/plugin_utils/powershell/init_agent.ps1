function Invoke-EcsInitializeAgentOnce {
    # One Initialize-ECSAgent call. ECSTools is closed source and written for the default
    # ErrorActionPreference (Continue, as in AWS's user data), so it runs with that; its host/log output
    # is collected instead of reaching stdout. Returns {failure (message or null), log (lines)}.
    param([Parameter(Mandatory = $true)][hashtable]$Parameters)
    $log = New-Object -TypeName System.Collections.Generic.List[string]
    $failure = $null
    $previous = $global:ErrorActionPreference
    try {
        $global:ErrorActionPreference = 'Continue'
        Import-Module -Name 'ECSTools' -ErrorAction Stop *>&1 | ForEach-Object { $log.Add(([string]$_).Trim()) }
        Initialize-ECSAgent @Parameters *>&1 | ForEach-Object { $log.Add(([string]$_).Trim()) }
    }
    catch {
        $failure = $_.Exception.Message
    }
    finally {
        $global:ErrorActionPreference = $previous
    }
    if ($null -eq $failure) {
        # Verify the outcome rather than trust the module: it ends by (re)starting AmazonECS.
        $service = Get-Service -Name 'AmazonECS' -ErrorAction SilentlyContinue
        if ($null -eq $service -or $service.Status.ToString() -ne 'Running') {
            $status = 'missing'
            if ($null -ne $service) {
                $status = $service.Status.ToString()
            }
            $tail = @($log | Where-Object { $_.Length -gt 0 } | Select-Object -Last 3) -join ' | '
            $failure = 'service AmazonECS is {0} after Initialize-ECSAgent; last output: {1}' -f $status, $tail
        }
    }
    return [pscustomobject]@{ failure = $failure; log = $log.ToArray() }
}

function Invoke-EcsOpInitAgent {
    # Import-Module ECSTools; Initialize-ECSAgent with switches from the arguments (REF 1.1), retrying only
    # the sporadic "VMNetwork adapter 'vEthernet (nat)*' not found" (REF pitfall 5) with backoff.
    param($Arguments)
    $cluster = [string]$Arguments.cluster
    if ($cluster -cnotmatch '^[A-Za-z0-9_-]{1,255}$') {
        New-EcsOpError -Category 'invalid_argument' -Message ("cluster '{0}' is not a valid ECS cluster name (letters, digits, - and _, at most 255)" -f $cluster)
    }
    $attempts = [int]$Arguments.attempts
    $retryDelay = [int]$Arguments.retry_delay_s
    if ($attempts -lt 1 -or $attempts -gt 10 -or $retryDelay -lt 0 -or $retryDelay -gt 300) {
        New-EcsOpError -Category 'invalid_argument' -Message ('attempts must be 1-10 and retry_delay_s 0-300, got {0} and {1}' -f $attempts, $retryDelay)
    }
    $parameters = @{ Cluster = $cluster }
    if ($Arguments.enable_task_iam_role -eq $true) {
        $parameters.EnableTaskIAMRole = $true
    }
    if (-not [string]::IsNullOrEmpty([string]$Arguments.version)) {
        $parameters.Version = [string]$Arguments.version
    }
    if ($null -ne $Arguments.logging_drivers) {
        $parameters.LoggingDrivers = ConvertTo-EcsJsonArrayText -Items $Arguments.logging_drivers
    }
    if ($Arguments.enable_task_eni -eq $true) {
        $parameters.EnableTaskENI = $true
    }
    if ($Arguments.awsvpc_block_imds -eq $true) {
        $parameters.AwsvpcBlockIMDS = $true
    }
    if ($null -ne $Arguments.awsvpc_additional_local_routes) {
        $parameters.AwsvpcAdditionalLocalRoutes = ConvertTo-EcsJsonArrayText -Items $Arguments.awsvpc_additional_local_routes
    }
    $retried = New-Object -TypeName System.Collections.Generic.List[string]
    for ($attempt = 1; $attempt -le $attempts; $attempt++) {
        $run = Invoke-EcsInitializeAgentOnce -Parameters $parameters
        if ($null -eq $run.failure) {
            return [ordered]@{ attempts = $attempt; retried_errors = $retried.ToArray() }
        }
        # ECSTools may log the adapter message and then fail with another one, so both are searched.
        $adapterMissing = $run.failure.Contains($EcsInitAdapterError) -or (@($run.log | Where-Object { $_.Contains($EcsInitAdapterError) }).Count -gt 0)
        if (-not $adapterMissing -or $attempt -eq $attempts) {
            New-EcsOpError -Category 'init_failed' -Message ('Initialize-ECSAgent failed (attempt {0} of {1}): {2}' -f $attempt, $attempts, $run.failure)
        }
        $retried.Add($run.failure)
        Start-Sleep -Seconds ([int][System.Math]::Min($retryDelay * [System.Math]::Pow(2, $attempt - 1), 300))
    }
}
