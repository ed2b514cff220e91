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

function Invoke-EcsOpRecoverProxy {
    # Boot-time self-healing (runs from the startup task without Ansible, or over WinRM): probe
    # 169.254.170.2; if broken delete the proxy pieces in the safe order, Initialize-ECSAgent again, wait
    # for registration and re-probe (AWS: "delete the proxy interface and initialize the agent again",
    # REF 2; the teardown commands are an [inference], so the outcome is verified by the probe).
    param($Arguments)
    $init = $Arguments.init
    $registrationTimeout = [int]$Arguments.registration_timeout_s
    $logPath = Assert-EcsWindowsPath -Value $Arguments.log_path -Name 'log_path'
    if ($null -eq $init) {
        New-EcsOpError -Category 'invalid_argument' -Message 'init (the Initialize-ECSAgent settings) is required'
    }
    $before = Get-EcsProxyHealth
    $after = $before
    $removed = @()
    $failure = $null
    $action = 'none'
    if (-not $before.ok) {
        try {
            $removal = Invoke-EcsOpRemoveProxy -Arguments (Get-EcsRecoverProxyPieces)
            $removed = $removal.removed
            $null = Invoke-EcsOpInitAgent -Arguments $init
            $cluster = [string]$init.cluster
            $wait = Invoke-EcsOpWaitRegistered -Arguments ([pscustomobject]@{ cluster = $cluster; timeout_s = $registrationTimeout; interval_s = 5 })
            if (-not $wait.registered) {
                $failure = "the agent did not register with cluster '{0}' within {1} s (it reports cluster {2})" -f $cluster, $registrationTimeout, (ConvertTo-EcsJson -Value $wait.cluster)
            }
        }
        catch {
            $failure = $_.Exception.Message
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
    $result = [ordered]@{ action = $action; before = $before; after = $after; removed = @($removed); error = $failure }
    $entry = [ordered]@{ time = Get-EcsUtcNow; boot_id = Get-EcsBootId; action = $action; before = $before; after = $after; removed = @($removed); error = $failure }
    Add-EcsRecoverLogLine -Path $logPath -Entry $entry
    return $result
}
