function Invoke-EcsOpResetAgentData {
    # Stops the agent and deletes its saved state (C:\ProgramData\Amazon\ECS\data), so that the next
    # start registers a new container instance: the only way to move an instance to another cluster.
    param($Arguments)
    $service = Get-Service -Name 'AmazonECS' -ErrorAction SilentlyContinue
    if ($null -ne $service -and $service.Status.ToString() -ne 'Stopped') {
        Stop-Service -Name 'AmazonECS' -Force
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
