function Set-EcsServiceFailureRestart {
    # Recovery actions as the reference installer sets them for AmazonECS (host-facts.md section 1.3), or none.
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][bool]$Enabled
    )
    if ($Enabled) {
        $null = Get-EcsNativeLines -FilePath 'sc.exe' -ArgumentList @('failure', $Name, 'reset=', '300', 'actions=', 'restart/5000/restart/30000/restart/60000')
        $null = Get-EcsNativeLines -FilePath 'sc.exe' -ArgumentList @('failureflag', $Name, '1')
    }
    else {
        $null = Get-EcsNativeLines -FilePath 'sc.exe' -ArgumentList @('failure', $Name, 'reset=', '0', 'actions=', '')
    }
}

function Assert-EcsServiceStaysRunning {
    # A service reports Running once its process started; the agent exits right after that when it cannot start
    # (e.g. saved cluster differs), so the outcome is checked a little later.
    param([Parameter(Mandatory = $true)][string]$Name)
    Start-Sleep -Seconds 3
    $status = (Get-Service -Name $Name).Status.ToString()
    if ($status -ne 'Running') {
        New-EcsOpError -Category 'host_state' -Message ("service {0} is {1} right after it was started: see its log (AmazonECS: C:\ProgramData\Amazon\ECS\log\ecs-agent.log)" -f $Name, $status)
    }
}

function Invoke-EcsOpService {
    # Converges a Windows service: start type, then recovery actions, then state.
    param($Arguments)
    $name = [string]$Arguments.name
    $startType = $Arguments.start_type
    $state = $Arguments.state
    $failureRestart = $Arguments.failure_restart
    $timeout = [int]$Arguments.timeout_s
    if (@('AmazonECS', 'docker', 'W3SVC') -cnotcontains $name) {
        New-EcsOpError -Category 'invalid_argument' -Message ("name must be AmazonECS, docker or W3SVC, got '{0}'" -f $name)
    }
    if ($null -ne $startType -and @('Automatic', 'Manual', 'Disabled') -cnotcontains $startType) {
        New-EcsOpError -Category 'invalid_argument' -Message ("start_type must be Automatic, Manual or Disabled, got '{0}'" -f $startType)
    }
    if ($null -ne $state -and @('running', 'stopped', 'restarted') -cnotcontains $state) {
        New-EcsOpError -Category 'invalid_argument' -Message ("state must be running, stopped or restarted, got '{0}'" -f $state)
    }
    if ($null -ne $failureRestart -and -not ($failureRestart -is [bool])) {
        New-EcsOpError -Category 'invalid_argument' -Message ("failure_restart must be true, false or null, got '{0}'" -f $failureRestart)
    }
    $facts = Get-EcsServiceFacts -Name $name
    if ($null -eq $facts) {
        $fix = ''
        if ($name -eq 'AmazonECS') {
            $fix = ' Initialize-ECSAgent creates it: run ecs_windows.task_iam.agent first.'
        }
        New-EcsOpError -Category 'host_state' -Message ("Cannot find any service with service name '{0}'.{1}" -f $name, $fix)
    }
    $changed = $false
    if ($null -ne $startType -and $facts.start_type -ne $startType) {
        Set-Service -Name $name -StartupType $startType
        $changed = $true
    }
    if ($null -ne $failureRestart -and $facts.failure_restart -ne $failureRestart) {
        Set-EcsServiceFailureRestart -Name $name -Enabled $failureRestart
        $changed = $true
    }
    try {
        if ($state -eq 'stopped' -and $facts.status -ne 'Stopped') {
            $null = Stop-EcsService -Name $name -TimeoutSeconds $timeout
            $changed = $true
        }
        elseif ($state -eq 'restarted' -or ($state -eq 'running' -and $facts.status -ne 'Running')) {
            # As Restart-Service -Force: the services that depend on this one are stopped with it and started again.
            $changed = $true
            $dependents = Stop-EcsService -Name $name -TimeoutSeconds $timeout
            Start-EcsService -Name $name -TimeoutSeconds $timeout
            foreach ($dependent in $dependents) {
                Start-EcsService -Name $dependent -TimeoutSeconds $timeout
            }
            Assert-EcsServiceStaysRunning -Name $name
        }
    }
    catch {
        $category = Get-EcsOpErrorCategory -Exception $_.Exception
        if ($null -ne $category) {
            throw
        }
        New-EcsOpError -Category 'host_state' -Message $_.Exception.Message
    }
    $service = Get-Service -Name $name
    return [ordered]@{ changed = $changed; status = $service.Status.ToString(); start_type = $service.StartType.ToString() }
}
