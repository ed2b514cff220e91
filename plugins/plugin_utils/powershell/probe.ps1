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
    # `netsh interface ipv4 show excludedportrange protocol=tcp`: "start end" rows; "*" marks administered ones
    # (added with `netsh int ipv4 add excludedportrange`), which reserve the ports for their owner instead of
    # taking them away from it (docs/dev/host-facts.md "Excluded ports").
    $ranges = New-Object -TypeName System.Collections.Generic.List[object]
    $lines = Get-EcsNativeLines -FilePath 'netsh.exe' -ArgumentList @('interface', 'ipv4', 'show', 'excludedportrange', 'protocol=tcp')
    foreach ($line in $lines) {
        if ($line -match '^\s*(\d+)\s+(\d+)(\s+\*)?\s*$') {
            $ranges.Add([ordered]@{ start = [int]$Matches[1]; end = [int]$Matches[2]; administered = ($Matches.Count -gt 3 -and $null -ne $Matches[3]) })
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
    # The collection's boot task and ECSTools' Initialize-ECSHostReboot, where they exist.
    $tasks = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($pair in @(@($EcsToolsRebootTaskPath, $EcsToolsRebootTaskName), @($EcsBootTaskPath, $EcsBootTaskName))) {
        $task = Get-EcsScheduledTask -TaskPath $pair[0] -TaskName $pair[1]
        if ($null -ne $task) {
            $tasks.Add((Get-EcsScheduledTaskFacts -Task $task))
        }
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

function Get-EcsProbeLastLogEntry {
    # The last JSON line of a log recover_proxy appends to, or null.
    param([Parameter(Mandatory = $true)][string]$Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return $null
    }
    $lines = @(Get-Content -LiteralPath $Path -Encoding UTF8 -Tail 20 | Where-Object { ([string]$_).Trim().Length -gt 0 })
    if ($lines.Count -eq 0) {
        return $null
    }
    $last = ConvertFrom-EcsJsonOrNull -Text ([string]$lines[$lines.Count - 1])
    if ($last -is [System.Management.Automation.PSCustomObject]) {
        return $last
    }
    return $null
}

function Get-EcsProbeScriptBatch {
    # The batch an op script file carries ($EcsBatch = '<base64 JSON>'), or null: what the boot script was built with.
    param([Parameter(Mandatory = $true)][string]$Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return $null
    }
    foreach ($line in [System.IO.File]::ReadAllLines($Path)) {
        if ($line -match '^\$EcsBatch = ''([A-Za-z0-9+/=]*)''$') {
            try {
                return ConvertFrom-Json -InputObject ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($Matches[1])))
            }
            catch {
                return $null
            }
        }
    }
    return $null
}

function Get-EcsProbeBoot {
    # The boot folder and script (owner, ACL, hash, the batch it runs) and the last line of the boot log.
    $sha = $null
    if (Test-Path -LiteralPath $EcsBootScriptPath -PathType Leaf) {
        $sha = (Get-FileHash -LiteralPath $EcsBootScriptPath -Algorithm SHA256).Hash.ToLowerInvariant()
    }
    return [ordered]@{
        folder = Get-EcsAclFacts -Path $EcsBootDir
        script = Get-EcsAclFacts -Path $EcsBootScriptPath
        script_sha256 = $sha
        script_batch = Get-EcsProbeScriptBatch -Path $EcsBootScriptPath
        last_run = Get-EcsProbeLastLogEntry -Path $EcsBootLogPath
    }
}

function Get-EcsProbeHost {
    # Computer name, OS, build and edition (InstallationType, as the agent reads it), and the boot time.
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $current = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $edition = 'Full'
    if ([string]$current.InstallationType -eq 'Server Core') {
        $edition = 'Core'
    }
    return [ordered]@{
        hostname = ([string]$env:COMPUTERNAME).ToUpperInvariant()
        os_caption = ([string]$os.Caption).Trim()
        os_version = [string]$os.Version
        build = [int]$current.CurrentBuildNumber
        edition = $edition
        boot_id = [long]$os.LastBootUpTime.ToFileTime()
        boot_time = $os.LastBootUpTime.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
    }
}

function Get-EcsProbeIdentity {
    # The EC2 instance id from the instance metadata service (IMDSv2: a session token first).
    $token = Invoke-EcsHttpRequest -Uri $EcsImdsTokenUrl -Method 'PUT' -Headers @{ 'X-aws-ec2-metadata-token-ttl-seconds' = '60' } -TimeoutMilliseconds 2000
    if ($token.status -ne 200) {
        return [ordered]@{ ec2_instance_id = $null; error = ('IMDS token: {0}' -f (ConvertTo-EcsAnswerText -Answer $token)) }
    }
    $answer = Invoke-EcsHttpRequest -Uri $EcsImdsInstanceIdUrl -Headers @{ 'X-aws-ec2-metadata-token' = [string]$token.body } -TimeoutMilliseconds 2000
    if ($answer.status -ne 200 -or [string]$answer.body -notmatch '^i-[0-9a-f]+$') {
        return [ordered]@{ ec2_instance_id = $null; error = ('IMDS instance-id: {0}' -f (ConvertTo-EcsAnswerText -Answer $answer)) }
    }
    return [ordered]@{ ec2_instance_id = [string]$answer.body; error = $null }
}

function ConvertTo-EcsAnswerText {
    param($Answer)
    if ($null -ne $Answer.error) {
        return [string]$Answer.error
    }
    return 'HTTP {0}' -f $Answer.status
}

function ConvertTo-EcsProbeNetworkMode {
    # Docker's NetworkMode as the collection names it: the default Windows network is `nat`; an awsvpc
    # task container joins its pause container's namespace (`container:<id>`) [inference, host-facts.md section 4].
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
    # Running containers (docker ps), each with its own error when it does not answer. With 'routes', also the
    # image's shell (PowerShell first, else netsh as cmd-only images use it), the default gateway and the routes
    # the collection manages. Docker not answering at all is reported, not raised: {containers = null, error}.
    param([string]$Detail)
    $containers = New-Object -TypeName System.Collections.Generic.List[object]
    $docker = Get-Service -Name 'docker' -ErrorAction SilentlyContinue
    if ($Detail -eq 'none' -or $null -eq $docker -or $docker.Status.ToString() -ne 'Running') {
        return [pscustomobject]@{ containers = $containers.ToArray(); error = $null }
    }
    try {
        $list = Invoke-EcsDocker -ArgumentList @('ps', '--quiet', '--no-trunc') -TimeoutSeconds 20 -Description 'docker ps'
    }
    catch {
        return [pscustomobject]@{ containers = $null; error = $_.Exception.Message }
    }
    if ($list.exit_code -ne 0) {
        return [pscustomobject]@{ containers = $null; error = ('docker ps failed: {0}' -f (Get-EcsFirstErrorLine -Run $list)) }
    }
    $ids = @($list.stdout -split "`r?`n" | Where-Object { $_.Trim().Length -gt 0 })
    if ($ids.Count -eq 0) {
        return [pscustomobject]@{ containers = $containers.ToArray(); error = $null }
    }
    # One small JSON object per container from a Go template (the full inspect document is large and may hold
    # keys that 5.1 ConvertFrom-Json rejects). A container that exited meanwhile is left out.
    $format = ConvertTo-EcsDockerFormat -Template $EcsDockerInspectTemplate
    try {
        $inspect = Invoke-EcsDocker -ArgumentList (@('inspect', '--type', 'container', '--format', $format) + $ids) -TimeoutSeconds 30 -Description 'docker inspect'
    }
    catch {
        return [pscustomobject]@{ containers = $null; error = $_.Exception.Message }
    }
    if ($inspect.exit_code -ne 0 -and [string]::IsNullOrWhiteSpace($inspect.stdout)) {
        return [pscustomobject]@{ containers = $null; error = ('docker inspect failed: {0}' -f (Get-EcsFirstErrorLine -Run $inspect)) }
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
        $failure = $null
        if ($Detail -eq 'routes') {
            foreach ($candidate in @('powershell', 'cmd')) {
                $table = Get-EcsContainerRouteTable -Id ([string]$document.id) -Shell $candidate
                if ($table.ok) {
                    $shell = $candidate
                    break
                }
                if ($table.timed_out) {
                    $failure = $table.error
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
                error = $failure
            })
    }
    return [pscustomobject]@{ containers = $containers.ToArray(); error = $null }
}

function Get-EcsProbeAgentVersion {
    # The running agent's version from its introspection answer ("Amazon ECS Agent - v1.105.1 (...)"), else what
    # `amazon-ecs-agent.exe -version` prints ("Version: 1.105.1"; the exe has no version resource), else null.
    param($Registration)
    if ($null -ne $Registration.version -and $Registration.version -match 'v(\d+\.\d+\.\d+)') {
        return [pscustomobject]@{ version = $Matches[1]; source = 'introspection' }
    }
    if (Test-Path -LiteralPath $EcsAgentExe -PathType Leaf) {
        try {
            $run = Invoke-EcsNative -FilePath $EcsAgentExe -ArgumentList @('-version') -TimeoutSeconds 15 -Encoding 'UTF8'
            if ($run.exit_code -eq 0 -and $run.stdout -match 'Version:\s*v?(\d+\.\d+\.\d+)') {
                return [pscustomobject]@{ version = $Matches[1]; source = 'executable' }
            }
        }
        catch {
            $null = $_
        }
    }
    return [pscustomobject]@{ version = $null; source = $null }
}

function Get-EcsProbeCredentialRequests {
    # From the tail of the agent's audit log (agent/logger/audit: one line per request, `time code source "url"
    # "user-agent" task-arn event version cluster instance-arn`): the last request of each task, and the failed
    # requests, which the agent logs without their task (`-`: it could not resolve the credentials id).
    $last = @{}
    $failures = $null
    $path = $EcsAuditLogPath
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        $rolled = @(Get-ChildItem -Path ($EcsAuditLogPath + '.*') -ErrorAction SilentlyContinue | Sort-Object -Property LastWriteTimeUtc -Descending) | Select-Object -First 1
        if ($null -eq $rolled) {
            return [pscustomobject]@{ last = $last; failures = $failures }
        }
        $path = $rolled.FullName
    }
    foreach ($line in @(Get-Content -LiteralPath $path -Tail 2000 -Encoding UTF8)) {
        if ([string]$line -match '^(\S+) (\d{3}) \S+ "[^"]*" "[^"]*" (arn:\S+) (\S+) ') {
            $last[$Matches[3]] = [ordered]@{ time = $Matches[1]; status = [int]$Matches[2]; event = $Matches[4] }
        }
        elseif ([string]$line -match '^(\S+) (\d{3}) \S+ "[^"]*" "[^"]*" - ' -and $Matches[2] -ne '200') {
            if ($null -eq $failures) {
                $failures = [ordered]@{ count = 0; first_time = $Matches[1]; last_time = $Matches[1]; last_status = 0 }
            }
            $failures.count = $failures.count + 1
            $failures.last_time = $Matches[1]
            $failures.last_status = [int]$Matches[2]
        }
    }
    return [pscustomobject]@{ last = $last; failures = $failures }
}

function Get-EcsProbeTasks {
    # The agent's running tasks (http://localhost:51678/v1/tasks) with the last credential request of each
    # (Requests: Get-EcsProbeCredentialRequests).
    param([Parameter(Mandatory = $true)]$Requests)
    $answer = Invoke-EcsHttpRequest -Uri $EcsTasksUrl
    if ($answer.status -ne 200) {
        return [pscustomobject]@{ tasks = $null; error = ('{0}: {1}' -f $EcsTasksUrl, (ConvertTo-EcsAnswerText -Answer $answer)) }
    }
    $document = ConvertFrom-EcsJsonOrNull -Text $answer.body
    if ($null -eq $document -or $null -eq $document.PSObject.Properties['Tasks']) {
        return [pscustomobject]@{ tasks = $null; error = ('{0}: unexpected answer' -f $EcsTasksUrl) }
    }
    $tasks = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($task in @($document.Tasks)) {
        if ($null -eq $task) {
            continue
        }
        $arn = [string]$task.Arn
        $tasks.Add([ordered]@{
                arn = $arn
                family = ConvertTo-EcsProbeLabel -Value $task.Family
                version = ConvertTo-EcsProbeLabel -Value $task.Version
                known_status = ConvertTo-EcsProbeLabel -Value $task.KnownStatus
                desired_status = ConvertTo-EcsProbeLabel -Value $task.DesiredStatus
                last_credentials = $Requests.last[$arn]
            })
    }
    return [pscustomobject]@{ tasks = $tasks.ToArray(); error = $null }
}

function Invoke-EcsOpProbe {
    param($Arguments)
    $detail = [string]$Arguments.container_detail
    if (@('none', 'list', 'routes') -notcontains $detail) {
        New-EcsOpError -Category 'invalid_argument' -Message ("container_detail must be none, list or routes, got '{0}'" -f $detail)
    }
    $salt = [string]$Arguments.salt
    if ($salt -cnotmatch '^[0-9a-f]{16,64}$') {
        New-EcsOpError -Category 'invalid_argument' -Message 'salt must be 16 to 64 lower-case hex characters'
    }
    # Each section's elapsed time is reported (timings_ms), so a slow host shows where its seconds go.
    $timings = [ordered]@{}
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $result = [ordered]@{}
    $result.host = Get-EcsProbeHost
    $timings.host = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $result.identity = Get-EcsProbeIdentity
    $timings.identity = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $ecstools = @(Get-Module -ListAvailable -Name 'ECSTools' | Sort-Object -Property Version -Descending) | Select-Object -First 1
    $ecstoolsVersion = $null
    if ($null -ne $ecstools) {
        $ecstoolsVersion = $ecstools.Version.ToString()
    }
    $result.ecstools = [ordered]@{ present = ($null -ne $ecstools); version = $ecstoolsVersion }
    $result.hyperv_powershell = ($null -ne (Get-Module -ListAvailable -Name 'Hyper-V' | Select-Object -First 1))
    $timings.modules = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $registration = Get-EcsRegistration
    $agentVersion = Get-EcsProbeAgentVersion -Registration $registration
    $result.agent = [ordered]@{ installed = (Test-Path -LiteralPath $EcsAgentExe -PathType Leaf); version = $agentVersion.version; version_source = $agentVersion.source }
    $result.registration = $registration
    $timings.agent = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $services = [ordered]@{}
    foreach ($name in @('AmazonECS', 'docker', 'W3SVC')) {
        $services[$name] = Get-EcsServiceFacts -Name $name
    }
    $result.services = $services
    $timings.services = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $environment = Get-EcsMachineEnvironment -Salt $salt
    $result.machine_env = $environment.values
    $result.salt = $salt
    $result.machine_env_hashes = $environment.hashes
    $result.machine_env_other = $environment.other
    $timings.machine_env = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $result.endpoints = [ordered]@{ agent_tmds = Invoke-EcsEndpointProbe -Uri $EcsTmdsUrl; proxy = Get-EcsProxyHealth }
    $timings.endpoints = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $result.proxy = [ordered]@{
        ip_bindings = Get-EcsCredentialsIpBindings
        portproxy = Get-EcsPortProxyRules
        firewall_rules = Get-EcsProbeFirewallRules
        apipa_adapter = Get-EcsApipaAdapterName
    }
    $result.nat_adapters = Get-EcsProbeNatAdapters
    $timings.proxy = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $result.port80_listeners = Get-EcsProbePort80Listeners
    $result.excluded_port_ranges = Get-EcsProbeExcludedPortRanges
    $timings.ports = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $result.scheduled_tasks = Get-EcsProbeScheduledTasks
    $result.boot = Get-EcsProbeBoot
    $result.files = Get-EcsProbeFileHashes -Paths $Arguments.files
    $timings.boot = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $containers = Get-EcsProbeContainers -Detail $detail
    $result.container_detail = $detail
    $result.containers = $containers.containers
    $result.containers_error = $containers.error
    $timings.containers = [int]$watch.ElapsedMilliseconds
    $watch.Restart()
    $requests = Get-EcsProbeCredentialRequests
    $tasks = Get-EcsProbeTasks -Requests $requests
    $result.tasks = $tasks.tasks
    $result.tasks_error = $tasks.error
    $result.credential_failures = $requests.failures
    $timings.tasks = [int]$watch.ElapsedMilliseconds
    $result.timings_ms = $timings
    return $result
}
