#ecs_windows.task_iam loader/2
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$EcsLines = @($input)
. ([scriptblock]::Create([IO.StreamReader]::new([IO.Compression.DeflateStream]::new([IO.MemoryStream]::new([Convert]::FromBase64String($EcsLines[0])), [IO.Compression.CompressionMode]::Decompress)).ReadToEnd()))
