#ecs_windows.task_iam loader/2
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$EcsLines = @($input)
. ([System.Management.Automation.ScriptBlock]::Create((New-Object -TypeName System.IO.StreamReader -ArgumentList @((New-Object -TypeName System.IO.Compression.DeflateStream -ArgumentList @((New-Object -TypeName System.IO.MemoryStream -ArgumentList @(, [System.Convert]::FromBase64String($EcsLines[0]))), [System.IO.Compression.CompressionMode]::Decompress)), [System.Text.Encoding]::UTF8)).ReadToEnd()))
