function Invoke-EcsOpResetAgentData {
    # Stops the agent (bounded wait) and deletes its saved state (C:\ProgramData\Amazon\ECS\data), so that the
    # next start registers a new container instance: the only way to move an instance to another cluster.
    param($Arguments)
    $timeout = [int]$Arguments.stop_timeout_s
    if ($null -ne (Get-Service -Name 'AmazonECS' -ErrorAction SilentlyContinue)) {
        $null = Stop-EcsService -Name 'AmazonECS' -TimeoutSeconds $timeout
    }
    $removed = $false
    if (Test-Path -LiteralPath $EcsAgentDataDir -PathType Container) {
        foreach ($item in @(Get-ChildItem -LiteralPath $EcsAgentDataDir -Force)) {
            Remove-Item -LiteralPath $item.FullName -Recurse -Force
            $removed = $true
        }
    }
    return [ordered]@{ removed = $removed }
}
