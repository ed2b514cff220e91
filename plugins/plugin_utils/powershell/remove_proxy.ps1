function Assert-EcsRemoveProxyArguments {
    # Validates every piece before anything is deleted, so bad input changes nothing.
    param($Arguments)
    foreach ($item in @($Arguments.portproxy)) {
        $null = Assert-EcsIPv4 -Value $item.listen_address -Name 'portproxy.listen_address'
        $port = $item.listen_port
        if (-not ($port -is [int] -or $port -is [long]) -or $port -lt 1 -or $port -gt 65535) {
            New-EcsOpError -Category 'invalid_argument' -Message ("portproxy.listen_port must be 1-65535, got '{0}'" -f $port)
        }
    }
    foreach ($item in @($Arguments.ip_bindings)) {
        $address = Assert-EcsIPv4 -Value $item.ip_address -Name 'ip_bindings.ip_address'
        if ($address -ne $EcsCredentialsIp) {
            New-EcsOpError -Category 'invalid_argument' -Message ('remove_proxy only removes the credential proxy address {0}, not {1}' -f $EcsCredentialsIp, $address)
        }
    }
    $adapter = [string]$Arguments.apipa_adapter
    if ($adapter.Length -gt 0 -and $adapter -notlike '*APIPA*') {
        New-EcsOpError -Category 'host_state' -Message ("refusing to remove adapter '{0}': remove_proxy only removes the legacy APIPA vNIC" -f $adapter)
    }
    foreach ($name in @($Arguments.firewall_rules)) {
        if (-not ($name -is [string]) -or $name.Length -eq 0 -or $name -match '[*?\[\]]') {
            New-EcsOpError -Category 'invalid_argument' -Message ("firewall rule name must be a non-empty name without wildcards, got '{0}'" -f $name)
        }
    }
}

function Remove-EcsProxyPortProxy {
    param($Item)
    $address = [string]$Item.listen_address
    $port = [int]$Item.listen_port
    $rules = Get-EcsPortProxyRules
    $present = @($rules | Where-Object { $_.listen_address -eq $address -and $_.listen_port -eq [int]$port })
    if ($present.Count -eq 0) {
        return $null
    }
    $null = Get-EcsNativeLines -FilePath 'netsh.exe' -ArgumentList @('interface', 'portproxy', 'delete', 'v4tov4', ('listenaddress=' + $address), ('listenport=' + $port))
    return ('portproxy {0}:{1}' -f $address, $port)
}

function Remove-EcsProxyIpBinding {
    # Only the credential proxy address is ever removed; the adapter that carries it stays.
    param($Item)
    $address = [string]$Item.ip_address
    $index = [int]$Item.interface_index
    $bound = @(Get-NetIPAddress -AddressFamily IPv4 | Where-Object { $_.InterfaceIndex -eq $index -and $_.IPAddress -eq $address })
    if ($bound.Count -eq 0) {
        return $null
    }
    foreach ($binding in $bound) {
        Remove-NetIPAddress -InputObject $binding -Confirm:$false
    }
    return ('ip {0} on interface {1}' -f $address, $index)
}

function Remove-EcsProxyApipaAdapter {
    # The legacy host vNIC "APIPA" that hostsetup.ps1 added to switch nat (host-facts.md section 1.4). The Hyper-V adapter
    # is found by the MAC address of the network adapter the probe named [inference: host-facts.md section 2 teardown].
    param([string]$Name)
    $adapter = @(Get-NetAdapter | Where-Object { $_.Name -eq $Name }) | Select-Object -First 1
    if ($null -eq $adapter) {
        return $null
    }
    if ($null -eq (Get-Command -Name 'Get-VMNetworkAdapter' -ErrorAction SilentlyContinue)) {
        New-EcsOpError -Category 'host_state' -Message ("adapter '{0}' is a Hyper-V vNIC, but the Hyper-V PowerShell module is not installed: Install-WindowsFeature Hyper-V-PowerShell" -f $Name)
    }
    $mac = ([string]$adapter.MacAddress) -replace '-', ''
    $vnics = @(Get-VMNetworkAdapter -ManagementOS | Where-Object { [string]$_.MacAddress -eq $mac })
    if ($vnics.Count -ne 1) {
        New-EcsOpError -Category 'host_state' -Message ("adapter '{0}' (MAC {1}) matches {2} management OS Hyper-V adapters; expected exactly one" -f $Name, $mac, $vnics.Count)
    }
    Remove-VMNetworkAdapter -VMNetworkAdapter $vnics[0] -Confirm:$false
    return ('adapter {0}' -f $Name)
}

function Remove-EcsProxyFirewallRule {
    # Only a rule identified as the proxy's (local port 51679, as probe reports them) is removed; any
    # other name is skipped like a rule that is already gone.
    param([string]$Name)
    $proxyRules = Get-EcsProxyFirewallRules
    $found = @($proxyRules | Where-Object { [string]$_.rule.Name -eq $Name }) | Select-Object -First 1
    if ($null -eq $found) {
        return $null
    }
    Remove-NetFirewallRule -InputObject $found.rule
    return ('firewall rule {0}' -f $Name)
}

function Invoke-EcsOpRemoveProxy {
    # Deletes exactly the listed credential-proxy pieces in the safe order: portproxy rule first (a rule
    # re-added while its address is missing stays dead, host-facts.md section 6.9), then the 169.254.170.2 binding,
    # the legacy APIPA vNIC, the firewall rule. Pieces that are already gone are skipped.
    param($Arguments)
    Assert-EcsRemoveProxyArguments -Arguments $Arguments
    $removed = New-Object -TypeName System.Collections.Generic.List[string]
    $steps = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($item in @($Arguments.portproxy)) {
        $steps.Add(@('portproxy', $item))
    }
    foreach ($item in @($Arguments.ip_bindings)) {
        $steps.Add(@('ip', $item))
    }
    if (-not [string]::IsNullOrEmpty([string]$Arguments.apipa_adapter)) {
        $steps.Add(@('adapter', [string]$Arguments.apipa_adapter))
    }
    foreach ($item in @($Arguments.firewall_rules)) {
        $steps.Add(@('firewall', $item))
    }
    foreach ($step in $steps) {
        $done = $null
        switch ($step[0]) {
            'portproxy' {
                $done = Remove-EcsProxyPortProxy -Item $step[1]
            }
            'ip' {
                $done = Remove-EcsProxyIpBinding -Item $step[1]
            }
            'adapter' {
                $done = Remove-EcsProxyApipaAdapter -Name $step[1]
            }
            'firewall' {
                $done = Remove-EcsProxyFirewallRule -Name $step[1]
            }
        }
        if ($null -ne $done) {
            $removed.Add($done)
        }
    }
    return [ordered]@{ removed = $removed.ToArray() }
}
