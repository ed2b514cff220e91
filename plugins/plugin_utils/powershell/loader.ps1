#ecs_windows.task_iam loader/1
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$EcsScript = @($input) -join "`n"
. ([System.Management.Automation.ScriptBlock]::Create($EcsScript))
