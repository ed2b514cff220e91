# Route changes inside a PowerShell image; the values arrive as environment variables (data, not code).
$EcsContainerAddRouteScript = @'
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$null = New-NetRoute -DestinationPrefix $env:ECS_ROUTE_DESTINATION -InterfaceIndex ([int]$env:ECS_ROUTE_INTERFACE) -NextHop $env:ECS_ROUTE_NEXT_HOP -PolicyStore ActiveStore
'@

$EcsContainerRemoveRouteScript = @'
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Remove-NetRoute -DestinationPrefix $env:ECS_ROUTE_DESTINATION -InterfaceIndex ([int]$env:ECS_ROUTE_INTERFACE) -PolicyStore ActiveStore -Confirm:$false
'@

function Invoke-EcsContainerRouteChange {
    # Adds (NextHop given) or removes one route in a container as ContainerAdministrator: New-NetRoute /
    # Remove-NetRoute -PolicyStore ActiveStore for PowerShell images, netsh ... store=active for cmd-only
    # images (AWS's bootstrap script, host-facts.md section 4). Returns the docker exec result.
    param(
        [Parameter(Mandatory = $true)][string]$Id,
        [Parameter(Mandatory = $true)][string]$Shell,
        [Parameter(Mandatory = $true)][string]$Destination,
        [Parameter(Mandatory = $true)][int]$InterfaceIndex,
        [string]$NextHop = $null,
        [int]$TimeoutSeconds = 60
    )
    $exec = @('exec', '--user', 'ContainerAdministrator')
    if ($Shell -eq 'powershell') {
        $commandScript = $EcsContainerRemoveRouteScript
        $environment = @('--env', ('ECS_ROUTE_DESTINATION=' + $Destination), '--env', ('ECS_ROUTE_INTERFACE=' + $InterfaceIndex))
        if (-not [string]::IsNullOrEmpty($NextHop)) {
            $commandScript = $EcsContainerAddRouteScript
            $environment += @('--env', ('ECS_ROUTE_NEXT_HOP=' + $NextHop))
        }
        $command = $exec + $environment + @($Id, 'powershell.exe', '-NoProfile', '-NonInteractive', '-EncodedCommand', (ConvertTo-EcsEncodedCommand -Script $commandScript))
    }
    elseif (-not [string]::IsNullOrEmpty($NextHop)) {
        $command = $exec + @($Id, 'netsh.exe', 'interface', 'ipv4', 'add', 'route', ('prefix=' + $Destination), ('interface=' + $InterfaceIndex), ('nexthop=' + $NextHop), 'store=active')
    }
    else {
        $command = $exec + @($Id, 'netsh.exe', 'interface', 'ipv4', 'delete', 'route', ('prefix=' + $Destination), ('interface=' + $InterfaceIndex), 'store=active')
    }
    return Invoke-EcsDocker -ArgumentList $command -TimeoutSeconds $TimeoutSeconds -Description ('docker exec {0} (route {1})' -f $Id.Substring(0, 12), $Destination)
}

function Assert-EcsContainerRoutesArguments {
    # Validates every container entry before any container is touched.
    param($Containers)
    foreach ($container in @($Containers)) {
        $null = Assert-EcsContainerId -Value $container.id
        if (@('powershell', 'cmd') -cnotcontains [string]$container.shell) {
            New-EcsOpError -Category 'invalid_argument' -Message ("shell must be powershell or cmd, got '{0}'" -f $container.shell)
        }
        foreach ($route in @($container.add)) {
            $null = Assert-EcsIPv4Prefix -Value $route.destination -Name 'add.destination'
            $null = Assert-EcsIPv4 -Value $route.next_hop -Name 'add.next_hop'
        }
        foreach ($destination in @($container.remove)) {
            $null = Assert-EcsIPv4Prefix -Value $destination -Name 'remove'
        }
    }
}

function Set-EcsContainerRoutes {
    # One container: removals, then additions; stops at its first failure (reported, not raised; the
    # routes changed before it stay). A container that does not answer within TimeoutSeconds is its own failure.
    param($Container, [int]$TimeoutSeconds)
    $id = [string]$Container.id
    $shell = [string]$Container.shell
    $added = New-Object -TypeName System.Collections.Generic.List[string]
    $removed = New-Object -TypeName System.Collections.Generic.List[string]
    $failure = $null
    try {
        $failure = Update-EcsContainerRouteTable -Container $Container -TimeoutSeconds $TimeoutSeconds -Added $added -Removed $removed
    }
    catch {
        if ((Get-EcsOpErrorCategory -Exception $_.Exception) -ne 'timeout') {
            throw
        }
        $failure = $_.Exception.Message
    }
    return [ordered]@{ id = $id; added = $added.ToArray(); removed = $removed.ToArray(); error = $failure }
}

function Update-EcsContainerRouteTable {
    # The route changes of one container, recorded in Added/Removed; returns the failure message or $null.
    param($Container, [int]$TimeoutSeconds, $Added, $Removed)
    $id = [string]$Container.id
    $shell = [string]$Container.shell
    $failure = $null
    $inspect = Invoke-EcsDocker -ArgumentList @('inspect', '--type', 'container', '--format', (ConvertTo-EcsDockerFormat -Template '<<.State.Running>>'), $id) -TimeoutSeconds $TimeoutSeconds -Description ('docker inspect {0}' -f $id)
    if ($inspect.exit_code -ne 0) {
        $failure = 'No such container: {0}' -f $id
    }
    elseif ($inspect.stdout.Trim() -ne 'true') {
        $failure = 'container {0} is not running' -f $id
    }
    else {
        $table = Get-EcsContainerRouteTable -Id $id -Shell $shell -TimeoutSeconds $TimeoutSeconds
        $default = $null
        if ($table.ok) {
            $default = Get-EcsDefaultRoute -Routes $table.routes
        }
        if (-not $table.ok) {
            $failure = $table.error
        }
        elseif ($null -eq $default) {
            $failure = 'container {0} has no default route (0.0.0.0/0)' -f $id
        }
        else {
            # As on Windows, removing a missing route and adding an existing one fail (the planner sends
            # only what differs); the message names the destination.
            foreach ($destination in @($Container.remove)) {
                $existing = @($table.routes | Where-Object { $_.destination -eq $destination }) | Select-Object -First 1
                $interfaceIndex = $default.interface_index
                if ($null -ne $existing) {
                    $interfaceIndex = $existing.interface_index
                }
                $run = Invoke-EcsContainerRouteChange -Id $id -Shell $shell -Destination $destination -InterfaceIndex $interfaceIndex -TimeoutSeconds $TimeoutSeconds
                if ($run.exit_code -ne 0) {
                    $failure = '{0}: {1}' -f $destination, (Get-EcsFirstErrorLine -Run $run)
                    break
                }
                $Removed.Add([string]$destination)
            }
            if ($null -eq $failure) {
                foreach ($route in @($Container.add)) {
                    $run = Invoke-EcsContainerRouteChange -Id $id -Shell $shell -Destination $route.destination -InterfaceIndex $default.interface_index -NextHop $route.next_hop -TimeoutSeconds $TimeoutSeconds
                    if ($run.exit_code -ne 0) {
                        $failure = '{0}: {1}' -f $route.destination, (Get-EcsFirstErrorLine -Run $run)
                        break
                    }
                    $Added.Add([string]$route.destination)
                }
            }
        }
    }
    return $failure
}

function Invoke-EcsOpContainerRoutes {
    # Per running nat-mode container: routes 169.254.170.2/32 (and 169.254.169.254/32) via its gateway,
    # inside the container (the agent does not add them for nat tasks, host-facts.md section 4). Per-container failures are
    # results, so one broken container does not hide what happened to the others.
    param($Arguments)
    Assert-EcsContainerRoutesArguments -Containers $Arguments.containers
    $results = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($container in @($Arguments.containers)) {
        $results.Add((Set-EcsContainerRoutes -Container $container -TimeoutSeconds ([int]$Arguments.timeout_s)))
    }
    return [ordered]@{ containers = $results.ToArray() }
}
