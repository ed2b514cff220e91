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
        New-EcsOpError -Category 'signature_invalid' -Message ("{0}: the Authenticode check failed: the signature is {1} (signer '{2}'), a Valid signature by Amazon is required; pin the file's sha256 instead (ecstools_sha256) if AWS does not sign it" -f $Name, $signature.Status, $subject)
    }
}

function Assert-EcsToolsManifest {
    # A module manifest (.psd1) is data: checked as Windows PowerShell reads one (Import-PowerShellDataFile
    # refuses anything that is not a literal hashtable), and its RootModule must be ECSTools.psm1.
    param([Parameter(Mandatory = $true)][string]$Path, [Parameter(Mandatory = $true)][string]$Name)
    try {
        $manifest = Import-PowerShellDataFile -LiteralPath $Path
    }
    catch {
        New-EcsOpError -Category 'signature_invalid' -Message ("{0}: the manifest check failed: it is not a data-only module manifest ({1}); pin its sha256 (ecstools_sha256) or require its signature" -f $Name, $_.Exception.Message)
    }
    if ([string]$manifest.RootModule -ne 'ECSTools.psm1') {
        New-EcsOpError -Category 'signature_invalid' -Message ("{0}: the manifest check failed: RootModule is '{1}', not ECSTools.psm1" -f $Name, $manifest.RootModule)
    }
}

function Invoke-EcsOpInstallEcsTools {
    # Installs ECSTools.psm1/.psd1 from the regional bucket (as ecs-anywhere-install.ps1 does, docs/dev/host-facts.md)
    # into C:\Program Files\WindowsPowerShell\Modules\ECSTools, through the proxy given (Invoke-WebRequest in 5.1
    # ignores the Machine HTTP_PROXY). Each file is downloaded to a temporary folder under its own name
    # (Authenticode needs the extension), checked (sha256 pin; Amazon signature where required; a manifest
    # without either must be data only), then copied into place only when it differs from the installed one.
    param($Arguments)
    $files = @($Arguments.files)
    $proxy = $Arguments.proxy
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
        if ($null -eq $file.sha256 -and $file.require_signature -ne $true -and [string]$file.name -ne 'ECSTools.psd1') {
            New-EcsOpError -Category 'invalid_argument' -Message ("{0} needs a sha256 pin or a required signature: module code is never installed unchecked" -f $file.name)
        }
    }
    [System.Net.ServicePointManager]::SecurityProtocol = [System.Net.ServicePointManager]::SecurityProtocol -bor [System.Net.SecurityProtocolType]::Tls12
    $staging = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('ecs_windows.task_iam-' + [System.Guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $staging -Force
    $installed = New-Object -TypeName System.Collections.Generic.List[string]
    $checks = New-Object -TypeName System.Collections.Generic.List[string]
    try {
        $ready = New-Object -TypeName System.Collections.Generic.List[object]
        foreach ($file in $files) {
            $name = [string]$file.name
            $download = Join-Path -Path $staging -ChildPath $name
            $request = @{ Uri = [string]$file.url; OutFile = $download; UseBasicParsing = $true; TimeoutSec = 60 }
            if (-not [string]::IsNullOrEmpty([string]$proxy)) {
                $request.Proxy = [string]$proxy
            }
            try {
                Invoke-WebRequest @request
            }
            catch {
                $via = ''
                if ($request.ContainsKey('Proxy')) {
                    $via = ' through the Machine HTTP(S)_PROXY'
                }
                New-EcsOpError -Category 'download_failed' -Message ('{0}: download from {1}{2} failed: {3}' -f $name, $file.url, $via, $_.Exception.Message)
            }
            $hash = (Get-FileHash -LiteralPath $download -Algorithm SHA256).Hash.ToLowerInvariant()
            if ($null -ne $file.sha256) {
                if ($hash -cne [string]$file.sha256) {
                    New-EcsOpError -Category 'checksum_mismatch' -Message ('{0}: the sha256 check failed: it is {1}, ecstools_sha256 expects {2}' -f $name, $hash, $file.sha256)
                }
                $checks.Add(('{0}: sha256 pin' -f $name))
            }
            if ($file.require_signature -eq $true) {
                Assert-EcsToolsSignature -Path $download -Name $name
                $checks.Add(('{0}: Amazon Authenticode signature' -f $name))
            }
            elseif ($null -eq $file.sha256) {
                Assert-EcsToolsManifest -Path $download -Name $name
                $checks.Add(('{0}: data-only manifest' -f $name))
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
    return [ordered]@{ installed = $installed.ToArray(); path = $EcsToolsModuleDir; version = $version; checks = $checks.ToArray() }
}
