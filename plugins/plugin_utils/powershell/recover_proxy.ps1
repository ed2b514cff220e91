function Get-EcsRecoverProxyPieces {
    # What a broken proxy leaves behind, identified as probe identifies it: portproxy 169.254.170.2:80,
    # every 169.254.170.2 binding, the legacy APIPA vNIC. The firewall rule is kept (ECSTools reuses it).
    $rules = Get-EcsPortProxyRules
    $portproxy = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($rule in @($rules | Where-Object { $_.listen_address -eq $EcsCredentialsIp -and $_.listen_port -eq 80 })) {
        $portproxy.Add([pscustomobject]@{ listen_address = $rule.listen_address; listen_port = [int]$rule.listen_port })
    }
    $current = Get-EcsCredentialsIpBindings
    $bindings = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($binding in $current) {
        $bindings.Add([pscustomobject]@{ ip_address = $binding.ip_address; interface_index = [int]$binding.interface_index })
    }
    return [pscustomobject]@{
        portproxy = $portproxy.ToArray()
        ip_bindings = $bindings.ToArray()
        apipa_adapter = Get-EcsApipaAdapterName
        firewall_rules = @()
    }
}

function Wait-EcsProxyHealthy {
    # The agent may need a moment after start before the proxy path answers.
    param([int]$Tries = 5)
    for ($try = 1; $try -le $Tries; $try++) {
        $health = Get-EcsProxyHealth
        if ($health.ok -or $try -eq $Tries) {
            return $health
        }
        Start-Sleep -Seconds 2
    }
}

function Add-EcsRecoverLogLine {
    # Appends one JSON line (UTF-8, no BOM); probe reports the last one as boot_recovery_last.
    param(
        [Parameter(Mandatory = $true)][string]$Path,
        [Parameter(Mandatory = $true)]$Entry
    )
    $directory = [System.IO.Path]::GetDirectoryName($Path)
    if (-not (Test-Path -LiteralPath $directory -PathType Container)) {
        $null = New-Item -ItemType Directory -Path $directory -Force
    }
    $encoding = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    [System.IO.File]::AppendAllText($Path, (ConvertTo-EcsJson -Value $Entry) + "`r`n", $encoding)
}

function Invoke-EcsRecoverProxyRepair {
    # Remove the broken pieces, Initialize-ECSAgent with the host's current settings (retrying the sporadic adapter
    # error with backoff), wait for registration. Returns the failure message or $null; fills Removed.
    param($Settings, $Arguments, $Removed)
    $removal = Invoke-EcsOpRemoveProxy -Arguments (Get-EcsRecoverProxyPieces)
    foreach ($item in @($removal.removed)) {
        $Removed.Add([string]$item)
    }
    try {
        $null = Invoke-EcsOpInitAgent -Arguments ([pscustomobject]@{ settings = $Settings; timeout_s = [int]$Arguments.init_timeout_s; attempts = [int]$Arguments.attempts; retry_delay_s = [int]$Arguments.retry_delay_s })
    }
    catch {
        return $_.Exception.Message
    }
    $cluster = [string]$Settings.cluster
    $timeout = [int]$Arguments.registration_timeout_s
    $stopwatch = [System.Diagnostics.Stopwatch]::StartNew()
    while ($true) {
        $round = [int][System.Math]::Max(0, [System.Math]::Min(60, $timeout - $stopwatch.Elapsed.TotalSeconds))
        $wait = Invoke-EcsOpWaitRegistered -Arguments ([pscustomobject]@{ cluster = $cluster; timeout_s = $round; interval_s = 5 })
        if ($wait.registered) {
            return $null
        }
        if ($stopwatch.Elapsed.TotalSeconds -ge $timeout) {
            return ("the agent did not register with cluster '{0}' within {1} s (it reports cluster {2})" -f $cluster, $timeout, (ConvertTo-EcsJson -Value $wait.cluster))
        }
    }
}

function Invoke-EcsOpRecoverProxy {
    # Boot-time self-healing (the startup task runs it without Ansible): probe 169.254.170.2; if broken delete the
    # proxy pieces in the safe order, Initialize-ECSAgent again with the settings the host has now (read from its
    # Machine environment, so a setting changed since the task was installed is never undone), wait for
    # registration and re-probe (AWS: "delete the proxy interface and initialize the agent again",
    # docs/dev/host-facts.md; the teardown commands are an [inference], so the outcome is verified by the probe).
    # Logs a `started` line first, so a run that dies half-way still leaves a trace.
    param($Arguments)
    $logPath = Assert-EcsWindowsPath -Value $Arguments.log_path -Name 'log_path'
    $bootId = Get-EcsBootId
    Add-EcsRecoverLogLine -Path $logPath -Entry ([pscustomobject]@{ time = Get-EcsUtcNow; boot_id = $bootId; action = 'started'; pid = $PID })
    $before = Get-EcsProxyHealth
    $after = $before
    $removed = New-Object -TypeName System.Collections.Generic.List[string]
    $failure = $null
    $action = 'none'
    $settings = $null
    if (-not $before.ok) {
        $settings = Get-EcsAgentSettings
        if ($null -eq $settings) {
            $failure = 'Machine environment ECS_CLUSTER is not set: the agent was never initialised, so there are no settings to re-create the proxy with'
        }
        else {
            try {
                $failure = Invoke-EcsRecoverProxyRepair -Settings $settings -Arguments $Arguments -Removed $removed
            }
            catch {
                $failure = $_.Exception.Message
            }
        }
        if ($null -eq $failure) {
            $after = Wait-EcsProxyHealthy
            if (-not $after.ok) {
                $detail = $after.error
                if ($null -eq $detail) {
                    $detail = 'HTTP {0}' -f $after.status
                }
                $failure = '{0} still fails after the repair: {1}' -f $EcsCredentialsIp, $detail
            }
        }
        else {
            $after = Get-EcsProxyHealth
        }
        $action = 'failed'
        if ($null -eq $failure) {
            $action = 'repaired'
        }
    }
    $result = [ordered]@{ action = $action; before = $before; after = $after; removed = $removed.ToArray(); settings = $settings; error = $failure }
    $entry = [ordered]@{ time = Get-EcsUtcNow; boot_id = $bootId; action = $action; before = $before; after = $after; removed = $removed.ToArray(); error = $failure }
    Add-EcsRecoverLogLine -Path $logPath -Entry $entry
    return $result
}
