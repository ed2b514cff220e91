# What the loader runs first (stdin line 1, deflated): picks the code to run - the batch's own (line 3), or the library
# the host has cached, verified by its sha256 (line 2) - keeps a library sent to be cached (line 4) for Invoke-EcsBatch,
# and runs the code with the batch (line 5). docs/dev/op-contract.md "The library".
function Expand-EcsText {
    param([string]$Text)
    $bytes = [System.Convert]::FromBase64String($Text)
    $stream = New-Object -TypeName System.IO.Compression.DeflateStream -ArgumentList @((New-Object -TypeName System.IO.MemoryStream -ArgumentList @(, $bytes)), [System.IO.Compression.CompressionMode]::Decompress)
    return (New-Object -TypeName System.IO.StreamReader -ArgumentList @($stream, [System.Text.Encoding]::UTF8)).ReadToEnd()
}

$EcsLibraryHash = [string]$EcsLines[1]
$EcsCacheState = 'absent'
$EcsCode = $null
$EcsLibraryPath = '{0}\{1}.ps1' -f $EcsCacheDir, $EcsLibraryHash
if ($EcsLibraryHash -cmatch '^[0-9a-f]{64}$' -and (Test-Path -LiteralPath $EcsLibraryPath -PathType Leaf)) {
    # A cached copy counts only when its sha256 matches: a damaged or altered one is neither run nor kept.
    $EcsCached = [System.IO.File]::ReadAllText($EcsLibraryPath)
    $EcsDigest = [System.Security.Cryptography.SHA256]::Create().ComputeHash([System.Text.Encoding]::UTF8.GetBytes($EcsCached))
    if (([System.BitConverter]::ToString($EcsDigest) -replace '-', '') -eq $EcsLibraryHash) {
        $EcsCacheState = 'present'
        if (-not $EcsLines[2]) {
            $EcsCode = $EcsCached
            $EcsCacheState = 'hit'
        }
    }
}
if ($EcsLines[2]) {
    $EcsCode = Expand-EcsText -Text $EcsLines[2]
}
$EcsLibrary = $null
if ($EcsLines[3]) {
    $EcsLibrary = Expand-EcsText -Text $EcsLines[3]
}
$EcsBatch = [string]$EcsLines[4]
if ($null -eq $EcsCode) {
    Write-Output -InputObject ('{"contract":' + $EcsContractVersion + ',"cache":"miss","results":[],"error":null}')
}
else {
    . ([System.Management.Automation.ScriptBlock]::Create($EcsCode))
}
