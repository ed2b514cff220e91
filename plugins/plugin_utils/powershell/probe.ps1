# docker inspect template (<< >> as ConvertTo-EcsDockerFormat writes them): the fields probe reports, one
# JSON object per container (labels ECS sets on task containers; `index` of a missing label gives "").
$EcsDockerInspectTemplate = '{"id":<<json .Id>>,"name":<<json .Name>>,"image":<<json .Config.Image>>,"network_mode":<<json .HostConfig.NetworkMode>>,"task_family":<<json (index .Config.Labels "com.amazonaws.ecs.task-definition-family")>>,"task_arn":<<json (index .Config.Labels "com.amazonaws.ecs.task-arn")>>}'

function Get-EcsProbePort80Listeners {
    # IPv4 listeners on TCP 80 with their process and service(s). A portproxy rule shows up as
    # svchost/iphlpsvc (also a dead one: it still holds the port); IIS (http.sys) as System, pid 4.
    $listeners = New-Object -TypeName System.Collections.Generic.List[object]
    $connections = @(Get-NetTCPConnection -State Listen | Where-Object { $_.LocalPort -eq 80 -and [string]$_.LocalAddress -notmatch ':' } | Sort-Object -Property LocalAddress)
    if ($connections.Count -eq 0) {
        return , $listeners.ToArray()
    }
    $services = @(Get-CimInstance -ClassName Win32_Service -Filter 'ProcessId > 4')
    foreach ($connection in $connections) {
        $processId = [int]$connection.OwningProcess
        $process = Get-Process -Id $processId -ErrorAction SilentlyContinue
        $processName = ''
        if ($null -ne $process) {
            $processName = [string]$process.ProcessName
        }
        $serviceNames = @($services | Where-Object { [int]$_.ProcessId -eq $processId } | ForEach-Object { [string]$_.Name } | Sort-Object)
        $serviceName = $null
        if ($serviceNames.Count -gt 0) {
            $serviceName = $serviceNames -join ','
        }
        $listeners.Add([ordered]@{
                local_address = [string]$connection.LocalAddress
                local_port = [int]$connection.LocalPort
                pid = $processId
                process = $processName
                service = $serviceName
            })
    }
    return , $listeners.ToArray()
}

function Get-EcsProbeExcludedPortRanges {
    # `netsh interface ipv4 show excludedportrange protocol=tcp`: "start end" rows ("*" marks administered ones).
    $ranges = New-Object -TypeName System.Collections.Generic.List[object]
    $lines = Get-EcsNativeLines -FilePath 'netsh.exe' -ArgumentList @('interface', 'ipv4', 'show', 'excludedportrange', 'protocol=tcp')
    foreach ($line in $lines) {
        if ($line -match '^\s*(\d+)\s+(\d+)(\s+\*)?\s*$') {
            $ranges.Add([ordered]@{ start = [int]$Matches[1]; end = [int]$Matches[2] })
        }
    }
    return , $ranges.ToArray()
}

function Get-EcsProbeFirewallRules {
    $rules = New-Object -TypeName System.Collections.Generic.List[object]
    $proxyRules = Get-EcsProxyFirewallRules
    foreach ($found in $proxyRules) {
        $rules.Add([ordered]@{
                name = [string]$found.rule.Name
                display_name = [string]$found.rule.DisplayName
                enabled = ([string]$found.rule.Enabled -eq 'True')
                direction = $found.rule.Direction.ToString()
                protocol = [string]$found.filter.Protocol
                local_port = (@($found.filter.LocalPort) -join ',')
                action = $found.rule.Action.ToString()
            })
    }
    return , $rules.ToArray()
}

function Get-EcsProbeNatAdapters {
    $adapters = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($adapter in @(Get-NetAdapter | Where-Object { $_.Name -like $EcsNatAdapterPattern } | Sort-Object -Property ifIndex)) {
        $adapters.Add([ordered]@{
                name = [string]$adapter.Name
                interface_index = [int]$adapter.ifIndex
                status = [string]$adapter.Status
            })
    }
    return , $adapters.ToArray()
}

function Get-EcsProbeScheduledTasks {
    # Every task outside \Microsoft\: ECSTools' \Initialize-ECSHostReboot and our boot task live there.
    $tasks = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($task in @(Get-ScheduledTask | Where-Object { -not ([string]$_.TaskPath).StartsWith('\Microsoft\', [System.StringComparison]::OrdinalIgnoreCase) } | Sort-Object -Property @('TaskPath', 'TaskName'))) {
        $tasks.Add((Get-EcsScheduledTaskFacts -Task $task))
    }
    return , $tasks.ToArray()
}

function Get-EcsProbeFileHashes {
    # sha256 (lower-case hex) of each listed file, or null when it is not a file.
    param($Paths)
    $hashes = [ordered]@{}
    foreach ($path in @($Paths)) {
        $hash = $null
        if (-not [string]::IsNullOrEmpty($path) -and (Test-Path -LiteralPath $path -PathType Leaf)) {
            $hash = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant()
        }
        $hashes[[string]$path] = $hash
    }
    return $hashes
}

function Get-EcsProbeBootRecoveryLast {
    # The last JSON line recover_proxy appended to its log, or null.
    if (-not (Test-Path -LiteralPath $EcsRecoverLogPath -PathType Leaf)) {
        return $null
    }
    $lines = @(Get-Content -LiteralPath $EcsRecoverLogPath -Encoding UTF8 -Tail 20 | Where-Object { ([string]$_).Trim().Length -gt 0 })
    if ($lines.Count -eq 0) {
        return $null
    }
    $last = ConvertFrom-EcsJsonOrNull -Text ([string]$lines[$lines.Count - 1])
    if ($last -is [System.Management.Automation.PSCustomObject]) {
        return $last
    }
    return $null
}

function ConvertTo-EcsProbeNetworkMode {
    # Docker's NetworkMode as the collection names it: the default Windows network is `nat`; an awsvpc
    # task container joins its pause container's namespace (`container:<id>`) [inference, REF section 4].
    param([string]$NetworkMode)
    if ($NetworkMode -eq 'default' -or $NetworkMode -eq 'nat') {
        return 'nat'
    }
    if ($NetworkMode.StartsWith('container:')) {
        return 'awsvpc'
    }
    return $NetworkMode
}

function ConvertTo-EcsProbeLabel {
    # A label value from the inspect template: a missing label comes back as "".
    param($Value)
    if ([string]::IsNullOrEmpty([string]$Value)) {
        return $null
    }
    return [string]$Value
}

function Get-EcsProbeContainers {
    # Running containers (docker ps). With 'routes', also the image's shell (PowerShell first, else
    # netsh as cmd-only images use it), the default gateway and the routes the collection manages.
    param([string]$Detail)
    $containers = New-Object -TypeName System.Collections.Generic.List[object]
    $docker = Get-Service -Name 'docker' -ErrorAction SilentlyContinue
    if ($Detail -eq 'none' -or $null -eq $docker -or $docker.Status.ToString() -ne 'Running') {
        return , $containers.ToArray()
    }
    $ids = Get-EcsNativeLines -FilePath 'docker.exe' -ArgumentList @('ps', '--quiet', '--no-trunc')
    if ($ids.Count -eq 0) {
        return , $containers.ToArray()
    }
    # One small JSON object per container from a Go template (the full inspect document is large and
    # may hold keys that 5.1 ConvertFrom-Json rejects). A container that exited meanwhile is left out.
    $format = ConvertTo-EcsDockerFormat -Template $EcsDockerInspectTemplate
    $inspect = Invoke-EcsDocker -ArgumentList (@('inspect', '--type', 'container', '--format', $format) + $ids)
    if ($inspect.exit_code -ne 0 -and [string]::IsNullOrWhiteSpace($inspect.stdout)) {
        New-EcsOpError -Category 'host_state' -Message ('docker inspect failed: {0}' -f (Get-EcsFirstErrorLine -Run $inspect))
    }
    $managed = @('0.0.0.0/0', ($EcsCredentialsIp + '/32'), '169.254.169.254/32')
    foreach ($line in ($inspect.stdout -split "`r?`n")) {
        if ($line.Trim().Length -eq 0) {
            continue
        }
        $document = ConvertFrom-Json -InputObject $line
        $shell = $null
        $gateway = $null
        $routes = $null
        if ($Detail -eq 'routes') {
            foreach ($candidate in @('powershell', 'cmd')) {
                $table = Get-EcsContainerRouteTable -Id ([string]$document.id) -Shell $candidate
                if ($table.ok) {
                    $shell = $candidate
                    break
                }
            }
            if ($null -ne $shell) {
                $default = Get-EcsDefaultRoute -Routes $table.routes
                if ($null -ne $default) {
                    $gateway = [string]$default.next_hop
                }
                $selected = New-Object -TypeName System.Collections.Generic.List[object]
                foreach ($route in @($table.routes | Where-Object { $managed -contains $_.destination } | Sort-Object -Property { $_.metric })) {
                    $selected.Add([ordered]@{ destination = $route.destination; next_hop = $route.next_hop })
                }
                $routes = $selected.ToArray()
            }
        }
        $containers.Add([ordered]@{
                id = [string]$document.id
                name = ([string]$document.name).TrimStart('/')
                image = [string]$document.image
                network_mode = ConvertTo-EcsProbeNetworkMode -NetworkMode ([string]$document.network_mode)
                task_family = ConvertTo-EcsProbeLabel -Value $document.task_family
                task_arn = ConvertTo-EcsProbeLabel -Value $document.task_arn
                shell = $shell
                gateway = $gateway
                routes = $routes
            })
    }
    return , $containers.ToArray()
}

function Get-EcsProbeAgentVersion {
    # The running agent's version from its introspection answer ("Amazon ECS Agent - v1.105.1 (...)"),
    # else the executable's file version, else null.
    param($Registration)
    if ($null -ne $Registration.version -and $Registration.version -match 'v(\d+\.\d+\.\d+)') {
        return $Matches[1]
    }
    if (Test-Path -LiteralPath $EcsAgentExe -PathType Leaf) {
        $version = (Get-Item -LiteralPath $EcsAgentExe).VersionInfo.ProductVersion
        if (-not [string]::IsNullOrEmpty($version)) {
            return [string]$version
        }
    }
    return $null
}

function Invoke-EcsOpProbe {
    param($Arguments)
    $detail = [string]$Arguments.container_detail
    if (@('none', 'list', 'routes') -notcontains $detail) {
        New-EcsOpError -Category 'invalid_argument' -Message ("container_detail must be none, list or routes, got '{0}'" -f $detail)
    }
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $ecstools = @(Get-Module -ListAvailable -Name 'ECSTools' | Sort-Object -Property Version -Descending) | Select-Object -First 1
    $ecstoolsVersion = $null
    if ($null -ne $ecstools) {
        $ecstoolsVersion = $ecstools.Version.ToString()
    }
    $registration = Get-EcsRegistration
    $services = [ordered]@{}
    foreach ($name in @('AmazonECS', 'docker', 'W3SVC')) {
        $services[$name] = Get-EcsServiceFacts -Name $name
    }
    return [ordered]@{
        host = [ordered]@{
            hostname = ([string]$env:COMPUTERNAME).ToUpperInvariant()
            os_caption = ([string]$os.Caption).Trim()
            os_version = [string]$os.Version
            boot_id = [long]$os.LastBootUpTime.ToFileTime()
            boot_time = $os.LastBootUpTime.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
        }
        ecstools = [ordered]@{ present = ($null -ne $ecstools); version = $ecstoolsVersion }
        hyperv_powershell = ($null -ne (Get-Module -ListAvailable -Name 'Hyper-V' | Select-Object -First 1))
        agent = [ordered]@{
            installed = (Test-Path -LiteralPath $EcsAgentExe -PathType Leaf)
            version = Get-EcsProbeAgentVersion -Registration $registration
        }
        services = $services
        machine_env = Get-EcsMachineEnvironment
        registration = $registration
        endpoints = [ordered]@{
            agent_tmds = Invoke-EcsEndpointProbe -Uri $EcsTmdsUrl
            proxy = Get-EcsProxyHealth
        }
        proxy = [ordered]@{
            ip_bindings = Get-EcsCredentialsIpBindings
            portproxy = Get-EcsPortProxyRules
            firewall_rules = Get-EcsProbeFirewallRules
            apipa_adapter = Get-EcsApipaAdapterName
        }
        nat_adapters = Get-EcsProbeNatAdapters
        port80_listeners = Get-EcsProbePort80Listeners
        excluded_port_ranges = Get-EcsProbeExcludedPortRanges
        scheduled_tasks = Get-EcsProbeScheduledTasks
        files = Get-EcsProbeFileHashes -Paths $Arguments.files
        boot_recovery_last = Get-EcsProbeBootRecoveryLast
        container_detail = $detail
        containers = Get-EcsProbeContainers -Detail $detail
    }
}
