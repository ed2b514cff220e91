# Runs in a child powershell.exe (Initialize-ECSAgent may hang, write to the console, prompt or call exit: none of
# that can reach the op's JSON). It reads its settings from $EcsInitSettings (base64 JSON, data only) and ends with
# one line `#ecs_windows.task_iam init-result <base64 JSON>`.
$EcsInitChildScript = @'
$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
try { [System.Console]::OutputEncoding = [System.Text.Encoding]::UTF8 } catch { $null = $_ }
$settings = ConvertFrom-Json -InputObject ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($EcsInitSettings)))
$parameters = @{ Cluster = [string]$settings.cluster }
if ($settings.enable_task_iam_role -eq $true) { $parameters.EnableTaskIAMRole = $true }
if (-not [string]::IsNullOrEmpty([string]$settings.version)) { $parameters.Version = [string]$settings.version }
if ($null -ne $settings.logging_drivers) { $parameters.LoggingDrivers = ConvertTo-Json -InputObject ([string[]]@($settings.logging_drivers)) -Compress }
if ($settings.enable_task_eni -eq $true) { $parameters.EnableTaskENI = $true }
if ($settings.awsvpc_block_imds -eq $true) { $parameters.AwsvpcBlockIMDS = $true }
if ($null -ne $settings.awsvpc_additional_local_routes) { $parameters.AwsvpcAdditionalLocalRoutes = ConvertTo-Json -InputObject ([string[]]@($settings.awsvpc_additional_local_routes)) -Compress }
$failure = $null
try {
    Import-Module -Name 'ECSTools' -Force -ErrorAction Stop
    Initialize-ECSAgent @parameters *>&1 | ForEach-Object { Write-Output -InputObject ([string]$_) }
}
catch {
    $failure = $_.Exception.Message
}
$outcome = @{ failure = $failure } | ConvertTo-Json -Compress
Write-Output -InputObject ('#ecs_windows.task_iam init-result ' + [System.Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($outcome)))
'@

function Invoke-EcsInitializeAgent {
    # One Initialize-ECSAgent run in a child powershell.exe, killed (with its children) after TimeoutSeconds.
    # Returns {failure (message or null), output (the child's lines), duration_s}.
    param(
        [Parameter(Mandatory = $true)]$Settings,
        [Parameter(Mandatory = $true)][int]$TimeoutSeconds
    )
    $encodedSettings = [System.Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes((ConvertTo-EcsJson -Value $Settings)))
    $script = ("`$EcsInitSettings = '{0}'" -f $encodedSettings) + "`n" + $EcsInitChildScript
    $stopwatch = [System.Diagnostics.Stopwatch]::StartNew()
    $run = Invoke-EcsNative -FilePath 'powershell.exe' -ArgumentList @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', (ConvertTo-EcsEncodedCommand -Script $script)) -TimeoutSeconds $TimeoutSeconds -Encoding 'UTF8' -Description 'Initialize-ECSAgent'
    $lines = New-Object -TypeName System.Collections.Generic.List[string]
    $failure = 'Initialize-ECSAgent ended without a result (powershell.exe exit code {0}: ECSTools may have called exit)' -f $run.exit_code
    foreach ($line in ($run.stdout -split "`r?`n")) {
        if ($line -match '^#ecs_windows\.task_iam init-result ([A-Za-z0-9+/=]+)$') {
            $outcome = ConvertFrom-Json -InputObject ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($Matches[1])))
            $failure = $outcome.failure
            if ($null -ne $failure) {
                $failure = ConvertTo-EcsMaskedText -Text ([string]$failure)
            }
        }
        elseif ($line.Trim().Length -gt 0) {
            $lines.Add((ConvertTo-EcsMaskedText -Text $line.Trim()))
        }
    }
    $errorText = ConvertFrom-EcsCliXmlError -Text ([string]$run.stderr)
    if ($errorText.Trim().Length -gt 0) {
        $lines.Add((ConvertTo-EcsMaskedText -Text $errorText.Trim()))
    }
    if ($null -eq $failure) {
        # Verify the outcome rather than trust the module: it ends by (re)starting AmazonECS.
        $service = Get-Service -Name 'AmazonECS' -ErrorAction SilentlyContinue
        if ($null -eq $service -or $service.Status.ToString() -ne 'Running') {
            $status = 'missing'
            if ($null -ne $service) {
                $status = $service.Status.ToString()
            }
            $tail = @($lines | Select-Object -Last 3) -join ' | '
            $failure = 'service AmazonECS is {0} after Initialize-ECSAgent; last output: {1}' -f $status, $tail
        }
    }
    return [pscustomobject]@{ failure = $failure; output = $lines.ToArray(); duration_s = [System.Math]::Round($stopwatch.Elapsed.TotalSeconds, 1) }
}

function Assert-EcsAgentSettings {
    # Only values the contract allows reach Initialize-ECSAgent (the schema holds them too; this is the host's check).
    param($Settings)
    if ([string]$Settings.cluster -cnotmatch '^[A-Za-z0-9_-]{1,255}$') {
        New-EcsOpError -Category 'invalid_argument' -Message ("cluster '{0}' is not a valid ECS cluster name (letters, digits, - and _, at most 255)" -f $Settings.cluster)
    }
    if ($null -ne $Settings.version -and [string]$Settings.version -cnotmatch '^(latest|v?[0-9]+\.[0-9]+\.[0-9]+)$') {
        New-EcsOpError -Category 'invalid_argument' -Message ("version '{0}' is not latest or X.Y.Z" -f $Settings.version)
    }
}

function Invoke-EcsOpInitAgent {
    # Initialize-ECSAgent with the given settings (docs/dev/host-facts.md "Initialize-ECSAgent"), up to `attempts`
    # runs: the sporadic "VMNetwork adapter 'vEthernet (nat)*' not found" is run again after retry_delay_s, doubling
    # (at most 300 s), on the host, so that a retry costs no round trip. A run past timeout_s is stopped and reported
    # as `timeout`; the adapter error of the last attempt is `retryable`, every other failure `init_failed`.
    param($Arguments)
    $settings = $Arguments.settings
    Assert-EcsAgentSettings -Settings $settings
    $attempts = [int]$Arguments.attempts
    $retried = New-Object -TypeName System.Collections.Generic.List[string]
    for ($attempt = 1; $true; $attempt++) {
        $run = Invoke-EcsInitializeAgent -Settings $settings -TimeoutSeconds ([int]$Arguments.timeout_s)
        if ($null -eq $run.failure) {
            return [ordered]@{ duration_s = $run.duration_s; output = @($run.output | Select-Object -Last 20); attempts = $attempt; retried_errors = $retried.ToArray() }
        }
        $message = 'Initialize-ECSAgent failed after {0} s: {1}' -f $run.duration_s, $run.failure
        # ECSTools may log the adapter message and then fail with another one, so both are searched.
        $adapterMissing = ([string]$run.failure).Contains($EcsInitAdapterError) -or (@($run.output | Where-Object { $_.Contains($EcsInitAdapterError) }).Count -gt 0)
        if (-not $adapterMissing) {
            New-EcsOpError -Category 'init_failed' -Message $message
        }
        if ($attempt -ge $attempts) {
            New-EcsOpError -Category 'retryable' -Message ('{0} (attempt {1} of {2})' -f $message, $attempt, $attempts)
        }
        $retried.Add($message)
        Start-Sleep -Seconds ([int][System.Math]::Min([int]$Arguments.retry_delay_s * [System.Math]::Pow(2, $attempt - 1), 300))
    }
}
