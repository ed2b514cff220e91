$EcsToolsModuleDir = 'C:\Program Files\WindowsPowerShell\Modules\ECSTools'

function Assert-EcsToolsSignature {
    # Authenticode must be Valid and from Amazon. The signer's exact subject is not published
    # [uncertain], so only "Amazon" in it is required; the error shows what was found.
    param([Parameter(Mandatory = $true)][string]$Path, [Parameter(Mandatory = $true)][string]$Name)
    $signature = Get-AuthenticodeSignature -FilePath $Path
    $subject = ''
    if ($null -ne $signature.SignerCertificate) {
        $subject = [string]$signature.SignerCertificate.Subject
    }
    if ($signature.Status.ToString() -ne 'Valid' -or $subject -notmatch 'Amazon') {
        New-EcsOpError -Category 'signature_invalid' -Message ("{0}: Authenticode signature is {1} (signer '{2}'): expected a Valid signature by Amazon; check the URL or set require_signature false only for a file you verified yourself" -f $Name, $signature.Status, $subject)
    }
}

function Invoke-EcsOpInstallEcsTools {
    # Installs ECSTools.psm1/.psd1 from the regional bucket (as ecs-anywhere-install.ps1 does, REF 0)
    # into C:\Program Files\WindowsPowerShell\Modules\ECSTools. Each file is downloaded to a temporary
    # folder under its own name (Authenticode needs the extension), checked, then copied into place
    # only when it differs from the installed one.
    param($Arguments)
    $files = @($Arguments.files)
    $requireSignature = ($Arguments.require_signature -eq $true)
    if ($files.Count -eq 0) {
        New-EcsOpError -Category 'invalid_argument' -Message 'files must list ECSTools.psm1 and/or ECSTools.psd1'
    }
    foreach ($file in $files) {
        if (@('ECSTools.psm1', 'ECSTools.psd1') -cnotcontains [string]$file.name) {
            New-EcsOpError -Category 'invalid_argument' -Message ("name must be ECSTools.psm1 or ECSTools.psd1, got '{0}'" -f $file.name)
        }
        if (-not ([string]$file.url).StartsWith('https://') -or [string]$file.url -match '\s') {
            New-EcsOpError -Category 'invalid_argument' -Message ("url of {0} must be an https:// URL, got '{1}'" -f $file.name, $file.url)
        }
        if ($null -ne $file.sha256 -and [string]$file.sha256 -cnotmatch '^[0-9a-f]{64}$') {
            New-EcsOpError -Category 'invalid_argument' -Message ("sha256 of {0} must be 64 lower-case hex characters or null" -f $file.name)
        }
    }
    [System.Net.ServicePointManager]::SecurityProtocol = [System.Net.ServicePointManager]::SecurityProtocol -bor [System.Net.SecurityProtocolType]::Tls12
    $staging = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('ecs_windows.task_iam-' + [System.Guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $staging -Force
    $installed = New-Object -TypeName System.Collections.Generic.List[string]
    try {
        $ready = New-Object -TypeName System.Collections.Generic.List[object]
        foreach ($file in $files) {
            $name = [string]$file.name
            $download = Join-Path -Path $staging -ChildPath $name
            try {
                Invoke-WebRequest -Uri ([string]$file.url) -OutFile $download -UseBasicParsing -TimeoutSec 120
            }
            catch {
                New-EcsOpError -Category 'download_failed' -Message ('{0}: download from {1} failed: {2}' -f $name, $file.url, $_.Exception.Message)
            }
            $hash = (Get-FileHash -LiteralPath $download -Algorithm SHA256).Hash.ToLowerInvariant()
            if ($null -ne $file.sha256 -and $hash -cne [string]$file.sha256) {
                New-EcsOpError -Category 'checksum_mismatch' -Message ('{0}: sha256 is {1}, expected {2}' -f $name, $hash, $file.sha256)
            }
            if ($requireSignature) {
                Assert-EcsToolsSignature -Path $download -Name $name
            }
            $ready.Add([pscustomobject]@{ name = $name; path = $download; hash = $hash })
        }
        # Every file is verified before any is installed, so a failure leaves the module as it was.
        if (-not (Test-Path -LiteralPath $EcsToolsModuleDir -PathType Container)) {
            $null = New-Item -ItemType Directory -Path $EcsToolsModuleDir -Force
        }
        foreach ($file in $ready) {
            $target = Join-Path -Path $EcsToolsModuleDir -ChildPath $file.name
            if ((Test-Path -LiteralPath $target -PathType Leaf) -and (Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash.ToLowerInvariant() -eq $file.hash) {
                continue
            }
            # A copy, not a move: a moved file keeps the temp folder's owner-only ACL instead of inheriting
            # the module folder's (Users: read and execute).
            Copy-Item -LiteralPath $file.path -Destination $target -Force
            $installed.Add($file.name)
        }
    }
    finally {
        Remove-Item -LiteralPath $staging -Recurse -Force -ErrorAction SilentlyContinue
    }
    $module = @(Get-Module -ListAvailable -Name 'ECSTools' | Sort-Object -Property Version -Descending) | Select-Object -First 1
    $version = $null
    if ($null -ne $module) {
        $version = $module.Version.ToString()
    }
    return [ordered]@{ installed = $installed.ToArray(); path = $EcsToolsModuleDir; version = $version }
}
