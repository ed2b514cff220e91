# ecs_windows.task_iam op prelude (docs/dev/op-contract.md, docs/dev/powershell.md).
# Windows PowerShell 5.1. Defines helpers and Invoke-EcsBatch; emits nothing by itself.

$EcsContractVersion = 1
$EcsErrorCategories = @('invalid_argument', 'host_state', 'init_failed', 'download_failed', 'checksum_mismatch', 'signature_invalid', 'timeout', 'not_supported', 'internal')
$EcsOpErrorKey = 'ecs_windows.task_iam.category'
$EcsCredentialsIp = '169.254.170.2'
$EcsTmdsPort = 51679
$EcsProxyUrl = 'http://169.254.170.2/v2/credentials/'
$EcsTmdsUrl = 'http://127.0.0.1:51679/v1/credentials'
$EcsMetadataUrl = 'http://127.0.0.1:51678/v1/metadata'
$EcsAgentExe = 'C:\Program Files\Amazon\ECS\amazon-ecs-agent.exe'
$EcsAgentDataDir = 'C:\ProgramData\Amazon\ECS\data'
$EcsRecoverLogPath = 'C:\ProgramData\Amazon\ECS\log\ecs_windows.task_iam-recover.log'
$EcsNatAdapterPattern = 'vEthernet (nat)*'
$EcsInitAdapterError = "VMNetwork adapter 'vEthernet (nat)*' not found"

function New-EcsOpError {
    # Raises an op error: Invoke-EcsBatch reports it with this category instead of `internal`.
    param(
        [Parameter(Mandatory = $true)][string]$Category,
        [Parameter(Mandatory = $true)][string]$Message
    )
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    $exception.Data[$EcsOpErrorKey] = $Category
    throw $exception
}

function Get-EcsOpErrorCategory {
    # The category New-EcsOpError attached, searched through wrapping exceptions; $null if none.
    param($Exception)
    $current = $Exception
    while ($null -ne $current) {
        if ($current.Data.Contains($EcsOpErrorKey)) {
            return [string]$current.Data[$EcsOpErrorKey]
        }
        $current = $current.InnerException
    }
    return $null
}

function ConvertTo-EcsPlainValue {
    # Rebuilds a value from plain types (ordered dictionaries, object[], string, long, double, bool)
    # so that Windows PowerShell 5.1 ConvertTo-Json cannot add ETS members ("value"/"Count" wrappers,
    # PSPath notes) or unroll arrays. Arrays are returned with the unary comma so they stay arrays.
    param($Value)
    if ($null -eq $Value) {
        return $null
    }
    if ($Value -is [string] -or $Value -is [char]) {
        return [string]$Value
    }
    if ($Value -is [bool]) {
        return [bool]$Value
    }
    if ($Value -is [int] -or $Value -is [long] -or $Value -is [int16] -or $Value -is [byte] -or $Value -is [uint16] -or $Value -is [uint32] -or $Value -is [uint64] -or $Value -is [sbyte]) {
        return [long]$Value
    }
    if ($Value -is [double] -or $Value -is [single] -or $Value -is [decimal]) {
        return [double]$Value
    }
    if ($Value -is [enum]) {
        return $Value.ToString()
    }
    if ($Value -is [datetime]) {
        return $Value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [System.Collections.IDictionary]) {
        $dictionary = [ordered]@{}
        foreach ($entry in $Value.GetEnumerator()) {
            $dictionary[[string]$entry.Key] = ConvertTo-EcsPlainValue -Value $entry.Value
        }
        return $dictionary
    }
    if ($Value -is [System.Management.Automation.PSCustomObject]) {
        $dictionary = [ordered]@{}
        foreach ($property in $Value.PSObject.Properties) {
            $dictionary[$property.Name] = ConvertTo-EcsPlainValue -Value $property.Value
        }
        return $dictionary
    }
    if ($Value -is [System.Collections.IEnumerable]) {
        $items = New-Object -TypeName System.Collections.Generic.List[object]
        foreach ($item in $Value) {
            $converted = ConvertTo-EcsPlainValue -Value $item
            $items.Add($converted)
        }
        return , $items.ToArray()
    }
    return [string]$Value
}

function ConvertTo-EcsJson {
    # One compact JSON document, ASCII only (non-ASCII escaped as \uXXXX: the console code page of a
    # remote powershell.exe would mangle it).
    param($Value)
    $plain = ConvertTo-EcsPlainValue -Value $Value
    $json = ConvertTo-Json -InputObject $plain -Depth 10 -Compress
    if ($json -notmatch '[^\x00-\x7F]') {
        return $json
    }
    $builder = New-Object -TypeName System.Text.StringBuilder -ArgumentList ($json.Length + 16)
    foreach ($character in $json.ToCharArray()) {
        if ([int]$character -gt 127) {
            $null = $builder.Append(('\u{0:x4}' -f [int]$character))
        }
        else {
            $null = $builder.Append($character)
        }
    }
    return $builder.ToString()
}

function ConvertTo-EcsJsonArrayText {
    # A JSON array of strings as ECSTools switches expect it, e.g. '["json-file","awslogs"]'.
    param($Items)
    $strings = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($item in @($Items)) {
        $strings.Add([string]$item)
    }
    return ConvertTo-Json -InputObject $strings.ToArray() -Compress
}

function Assert-EcsIPv4 {
    # Returns the address unchanged when it is a dotted IPv4 address, else raises invalid_argument.
    param($Value, [string]$Name)
    $parsed = $null
    if ($Value -is [string] -and $Value -match '^\d{1,3}(\.\d{1,3}){3}$' -and [System.Net.IPAddress]::TryParse($Value, [ref]$parsed)) {
        return $Value
    }
    New-EcsOpError -Category 'invalid_argument' -Message ("{0} must be an IPv4 address, got '{1}'" -f $Name, $Value)
}

function Assert-EcsIPv4Prefix {
    # Returns the prefix unchanged when it is IPv4/len (len 0-32), else raises invalid_argument.
    param($Value, [string]$Name)
    if ($Value -is [string] -and $Value -match '^(\d{1,3}(\.\d{1,3}){3})/(\d{1,2})$') {
        $address = $Matches[1]
        $length = [int]$Matches[3]
        $parsed = $null
        if ($length -le 32 -and [System.Net.IPAddress]::TryParse($address, [ref]$parsed)) {
            return $Value
        }
    }
    New-EcsOpError -Category 'invalid_argument' -Message ("{0} must be an IPv4 prefix like 169.254.170.2/32, got '{1}'" -f $Name, $Value)
}

function Assert-EcsContainerId {
    param($Value)
    if ($Value -is [string] -and $Value -cmatch '^[0-9a-f]{12,64}$') {
        return $Value
    }
    New-EcsOpError -Category 'invalid_argument' -Message ("container id must be 12 to 64 lower-case hex characters, got '{0}'" -f $Value)
}

function Assert-EcsWindowsPath {
    # An absolute local path without characters that cannot occur in a Windows file name.
    param($Value, [string]$Name)
    if ($Value -is [string] -and $Value -match '^[A-Za-z]:\\' -and $Value -notmatch '["<>|*?\r\n]' -and $Value.IndexOf(':', 2) -lt 0) {
        return $Value
    }
    New-EcsOpError -Category 'invalid_argument' -Message ("{0} must be an absolute Windows path like C:\dir\file, got '{1}'" -f $Name, $Value)
}

function ConvertTo-EcsCommandLineArgument {
    # Quotes one argument so that CommandLineToArgvW (and the MSVC runtime) yields it unchanged.
    param([string]$Argument)
    if ($Argument.Length -gt 0 -and $Argument -notmatch '[\s"]') {
        return $Argument
    }
    $builder = New-Object -TypeName System.Text.StringBuilder
    $null = $builder.Append('"')
    $backslashes = 0
    foreach ($character in $Argument.ToCharArray()) {
        if ($character -eq [char]'\') {
            $backslashes++
            continue
        }
        if ($character -eq '"') {
            $null = $builder.Append([char]'\', (2 * $backslashes + 1))
        }
        elseif ($backslashes -gt 0) {
            $null = $builder.Append([char]'\', $backslashes)
        }
        $backslashes = 0
        $null = $builder.Append($character)
    }
    $null = $builder.Append([char]'\', (2 * $backslashes))
    $null = $builder.Append('"')
    return $builder.ToString()
}

function Invoke-EcsNative {
    # Runs an external program with each argument passed as data (never through a shell), capturing
    # exit code, stdout and stderr. Avoids PowerShell 5.1 native-command quirks (stderr turned into
    # terminating errors under 'Stop', broken embedded quotes). Raises `timeout` after TimeoutSeconds.
    param(
        [Parameter(Mandatory = $true)][string]$FilePath,
        [string[]]$ArgumentList = @(),
        [int]$TimeoutSeconds = 60
    )
    $quoted = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($argument in $ArgumentList) {
        $quoted.Add((ConvertTo-EcsCommandLineArgument -Argument $argument))
    }
    $startInfo = New-Object -TypeName System.Diagnostics.ProcessStartInfo
    $startInfo.FileName = $FilePath
    $startInfo.Arguments = [string]::Join(' ', $quoted.ToArray())
    $startInfo.UseShellExecute = $false
    $startInfo.CreateNoWindow = $true
    $startInfo.RedirectStandardInput = $true
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardError = $true
    $process = New-Object -TypeName System.Diagnostics.Process
    $process.StartInfo = $startInfo
    $null = $process.Start()
    try {
        $process.StandardInput.Close()
        $stdoutTask = $process.StandardOutput.ReadToEndAsync()
        $stderrTask = $process.StandardError.ReadToEndAsync()
        if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
            $process.Kill()
            New-EcsOpError -Category 'timeout' -Message ("{0} {1} did not finish within {2} s" -f $FilePath, $startInfo.Arguments, $TimeoutSeconds)
        }
        $process.WaitForExit()
        return [pscustomobject]@{
            exit_code = $process.ExitCode
            stdout = $stdoutTask.Result
            stderr = $stderrTask.Result
        }
    }
    finally {
        $process.Dispose()
    }
}

function Get-EcsNativeLines {
    # Non-empty stdout lines of a successful external command; raises `category` with its stderr otherwise.
    param(
        [Parameter(Mandatory = $true)][string]$FilePath,
        [string[]]$ArgumentList = @(),
        [string]$Category = 'host_state'
    )
    $run = Invoke-EcsNative -FilePath $FilePath -ArgumentList $ArgumentList
    if ($run.exit_code -ne 0) {
        $detail = ($run.stderr + ' ' + $run.stdout).Trim()
        New-EcsOpError -Category $Category -Message ("{0} {1} failed with exit code {2}: {3}" -f $FilePath, ($ArgumentList -join ' '), $run.exit_code, $detail)
    }
    $lines = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($line in ($run.stdout -split "`r?`n")) {
        if ($line.Trim().Length -gt 0) {
            $lines.Add($line)
        }
    }
    return , $lines.ToArray()
}

function Get-EcsInnerException {
    # The first exception of the given type in the InnerException chain, or $null.
    param($Exception, [type]$Type)
    $current = $Exception
    while ($null -ne $current) {
        if ($current -is $Type) {
            return $current
        }
        $current = $current.InnerException
    }
    return $null
}

function Invoke-EcsHttpGet {
    # GET with short timeouts and no proxy (task endpoints are local). Returns status, body and error:
    # an HTTP error status is an answer (its body is read), a failed connection is an error message.
    param(
        [Parameter(Mandatory = $true)][string]$Uri,
        [int]$TimeoutMilliseconds = 3000
    )
    $request = [System.Net.HttpWebRequest][System.Net.WebRequest]::Create($Uri)
    $request.Method = 'GET'
    $request.Timeout = $TimeoutMilliseconds
    $request.ReadWriteTimeout = $TimeoutMilliseconds
    $request.KeepAlive = $false
    $request.Proxy = $null
    $response = $null
    $errorMessage = $null
    try {
        $response = $request.GetResponse()
    }
    catch {
        $webException = Get-EcsInnerException -Exception $_.Exception -Type ([System.Net.WebException])
        if ($null -eq $webException) {
            throw
        }
        if ($null -ne $webException.Response) {
            $response = $webException.Response
        }
        else {
            # Connection failures: report why the connect failed (e.g. "A socket operation was attempted
            # to an unreachable network 169.254.170.2:80") except for a plain refusal, which keeps the
            # WebException message "Unable to connect to the remote server".
            $errorMessage = $webException.Message
            $socketException = Get-EcsInnerException -Exception $webException -Type ([System.Net.Sockets.SocketException])
            if ($null -ne $socketException -and $socketException.SocketErrorCode -ne [System.Net.Sockets.SocketError]::ConnectionRefused) {
                $errorMessage = $socketException.Message
            }
        }
    }
    if ($null -eq $response) {
        return [pscustomobject]@{ status = $null; body = $null; error = $errorMessage }
    }
    try {
        $stream = $response.GetResponseStream()
        $reader = New-Object -TypeName System.IO.StreamReader -ArgumentList @($stream, [System.Text.Encoding]::UTF8)
        $body = $reader.ReadToEnd()
        $reader.Dispose()
        return [pscustomobject]@{ status = [int]$response.StatusCode; body = $body; error = $null }
    }
    catch {
        return [pscustomobject]@{ status = [int]$response.StatusCode; body = $null; error = $_.Exception.Message }
    }
    finally {
        $response.Close()
    }
}

function ConvertFrom-EcsJsonOrNull {
    param([string]$Text)
    if ([string]::IsNullOrWhiteSpace($Text)) {
        return $null
    }
    try {
        return ConvertFrom-Json -InputObject $Text
    }
    catch {
        return $null
    }
}

function Invoke-EcsEndpointProbe {
    # {ok, status, code, error} of an agent credentials endpoint. The agent answers a request without a
    # credential id with 400 and a JSON {code, message}; ok means that answer came (with ExpectedCode
    # when given). Using these answers as health checks is an [inference] of the reference, section 3.
    param(
        [Parameter(Mandatory = $true)][string]$Uri,
        [string]$ExpectedCode = $null
    )
    $answer = Invoke-EcsHttpGet -Uri $Uri
    $code = $null
    if ($null -ne $answer.status) {
        $document = ConvertFrom-EcsJsonOrNull -Text $answer.body
        if ($null -ne $document -and $document -is [System.Management.Automation.PSCustomObject] -and $document.PSObject.Properties['code']) {
            $code = [string]$document.code
        }
    }
    $ok = ($answer.status -eq 400) -and ($null -ne $code) -and ([string]::IsNullOrEmpty($ExpectedCode) -or $code -eq $ExpectedCode)
    $status = $null
    if ($null -ne $answer.status) {
        $status = [int]$answer.status
    }
    return [ordered]@{ ok = [bool]$ok; status = $status; code = $code; error = $answer.error }
}

function Get-EcsProxyHealth {
    return Invoke-EcsEndpointProbe -Uri $EcsProxyUrl -ExpectedCode 'NoIdInRequest'
}

function Get-EcsRegistration {
    # The agent's introspection answer: {reachable, cluster, container_instance_arn, version, error}.
    $answer = Invoke-EcsHttpGet -Uri $EcsMetadataUrl
    $result = [ordered]@{ reachable = $false; cluster = $null; container_instance_arn = $null; version = $null; error = $answer.error }
    if ($null -eq $answer.status) {
        return $result
    }
    if ($answer.status -ne 200) {
        $result.error = 'HTTP {0} from {1}' -f $answer.status, $EcsMetadataUrl
        return $result
    }
    $document = ConvertFrom-EcsJsonOrNull -Text $answer.body
    if ($null -eq $document -or -not ($document -is [System.Management.Automation.PSCustomObject])) {
        $result.error = 'unexpected answer from {0}' -f $EcsMetadataUrl
        return $result
    }
    $result.reachable = $true
    foreach ($pair in @(@('Cluster', 'cluster'), @('ContainerInstanceArn', 'container_instance_arn'), @('Version', 'version'))) {
        $property = $document.PSObject.Properties[$pair[0]]
        if ($null -ne $property -and $null -ne $property.Value -and [string]$property.Value -ne '') {
            $result[$pair[1]] = [string]$property.Value
        }
    }
    return $result
}

function Get-EcsMachineEnvironment {
    # All Machine-scope environment variables, sorted by name.
    $variables = [System.Environment]::GetEnvironmentVariables([System.EnvironmentVariableTarget]::Machine)
    $result = [ordered]@{}
    foreach ($name in @($variables.Keys | Sort-Object)) {
        $result[[string]$name] = [string]$variables[$name]
    }
    return $result
}

function Get-EcsMachineVariable {
    param([Parameter(Mandatory = $true)][string]$Name)
    return [System.Environment]::GetEnvironmentVariable($Name, [System.EnvironmentVariableTarget]::Machine)
}

function Set-EcsMachineVariable {
    # Writes only when the value differs; returns whether it wrote. An empty value would delete the
    # variable (SetEnvironmentVariable semantics), so it is refused: use Remove-EcsMachineVariable.
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][string]$Value
    )
    if ((Get-EcsMachineVariable -Name $Name) -ceq $Value) {
        return $false
    }
    [System.Environment]::SetEnvironmentVariable($Name, $Value, [System.EnvironmentVariableTarget]::Machine)
    return $true
}

function Remove-EcsMachineVariable {
    # Returns whether the variable existed.
    param([Parameter(Mandatory = $true)][string]$Name)
    if ($null -eq (Get-EcsMachineVariable -Name $Name)) {
        return $false
    }
    [System.Environment]::SetEnvironmentVariable($Name, $null, [System.EnvironmentVariableTarget]::Machine)
    return $true
}

function Get-EcsBootId {
    # FILETIME of the last boot: changes with every boot, so it identifies one.
    return [long](Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime.ToFileTime()
}

function Get-EcsUtcNow {
    return [System.DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
}

function Get-EcsPortProxyRules {
    # `netsh interface portproxy show v4tov4` rows: listen address/port -> connect address/port.
    $rules = New-Object -TypeName System.Collections.Generic.List[object]
    $lines = Get-EcsNativeLines -FilePath 'netsh.exe' -ArgumentList @('interface', 'portproxy', 'show', 'v4tov4')
    foreach ($line in $lines) {
        if ($line -match '^\s*(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s*$') {
            $rules.Add([ordered]@{
                    listen_address = $Matches[1]
                    listen_port = [int]$Matches[2]
                    connect_address = $Matches[3]
                    connect_port = [int]$Matches[4]
                })
        }
    }
    return , $rules.ToArray()
}

function Get-EcsCredentialsIpBindings {
    # IPv4 addresses equal to 169.254.170.2 on any adapter.
    $bindings = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($address in @(Get-NetIPAddress -AddressFamily IPv4 | Where-Object { $_.IPAddress -eq $EcsCredentialsIp })) {
        $bindings.Add([ordered]@{
                ip_address = [string]$address.IPAddress
                prefix_length = [int]$address.PrefixLength
                interface_alias = [string]$address.InterfaceAlias
                interface_index = [int]$address.InterfaceIndex
                address_state = $address.AddressState.ToString()
            })
    }
    return , $bindings.ToArray()
}

function Get-EcsProxyFirewallRules {
    # The credential proxy's firewall rules, identified by their local port 51679 (ECSTools names its rule
    # "Allow Inbound Port 51679", REF 1.4): [{rule, filter}].
    $found = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($filter in @(Get-NetFirewallPortFilter -All | Where-Object { @($_.LocalPort) -contains [string]$EcsTmdsPort })) {
        foreach ($rule in @(Get-NetFirewallRule -AssociatedNetFirewallPortFilter $filter)) {
            $found.Add([pscustomobject]@{ rule = $rule; filter = $filter })
        }
    }
    return , $found.ToArray()
}

function Get-EcsApipaAdapterName {
    # The legacy host vNIC of hostsetup.ps1 ("vEthernet (APIPA)"), found as hostsetup.ps1 finds it.
    $adapter = @(Get-NetAdapter | Where-Object { $_.Name -like '*APIPA*' } | Sort-Object -Property ifIndex) | Select-Object -First 1
    if ($null -eq $adapter) {
        return $null
    }
    return [string]$adapter.Name
}

function Test-EcsServiceRestartsOnFailure {
    # Whether the service's recovery actions include a restart (what `sc.exe failure ... actions=
    # restart/...` sets). Read from the SERVICE_FAILURE_ACTIONS value in the registry: a 20-byte header
    # (reset period, two string offsets, action count, array offset) then 8-byte {type, delay} actions;
    # type 1 is SC_ACTION_RESTART.
    param([Parameter(Mandatory = $true)][string]$Name)
    $key = 'HKLM:\SYSTEM\CurrentControlSet\Services\' + $Name
    $property = Get-ItemProperty -LiteralPath $key -Name 'FailureActions' -ErrorAction SilentlyContinue
    if ($null -eq $property) {
        return $false
    }
    $bytes = [byte[]]$property.FailureActions
    if ($bytes.Length -lt 20) {
        return $false
    }
    $count = [System.BitConverter]::ToUInt32($bytes, 12)
    for ($index = 0; $index -lt $count; $index++) {
        $offset = 20 + 8 * $index
        if ($offset + 8 -gt $bytes.Length) {
            break
        }
        if ([System.BitConverter]::ToUInt32($bytes, $offset) -eq 1) {
            return $true
        }
    }
    return $false
}

function Get-EcsServiceFacts {
    # {status, start_type, failure_restart} of a Windows service, or $null when it does not exist.
    param([Parameter(Mandatory = $true)][string]$Name)
    $service = Get-Service -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $service) {
        return $null
    }
    return [ordered]@{
        status = $service.Status.ToString()
        start_type = $service.StartType.ToString()
        failure_restart = Test-EcsServiceRestartsOnFailure -Name $Name
    }
}

function Get-EcsScheduledTaskFacts {
    # The probe's view of one scheduled task (first action, boot trigger).
    param([Parameter(Mandatory = $true)]$Task)
    $action = @($Task.Actions) | Select-Object -First 1
    $bootTrigger = @($Task.Triggers | Where-Object { $null -ne $_ -and $_.CimClass.CimClassName -eq 'MSFT_TaskBootTrigger' }) | Select-Object -First 1
    $delay = $null
    if ($null -ne $bootTrigger -and -not [string]::IsNullOrEmpty([string]$bootTrigger.Delay)) {
        $delay = [string]$bootTrigger.Delay
    }
    $execute = ''
    $arguments = ''
    if ($null -ne $action -and $null -ne $action.PSObject.Properties['Execute']) {
        $execute = [string]$action.Execute
        $arguments = [string]$action.Arguments
    }
    return [ordered]@{
        path = [string]$Task.TaskPath
        name = [string]$Task.TaskName
        state = $Task.State.ToString()
        enabled = [bool]$Task.Settings.Enabled
        at_startup = ($null -ne $bootTrigger)
        delay = $delay
        execute = $execute
        arguments = $arguments
    }
}

function Get-EcsScheduledTask {
    # The task at path+name, or $null. Found by filtering the list: CIM cmdlets report "not found" as
    # an error, and a lookup should not depend on how -ErrorAction treats it.
    param(
        [Parameter(Mandatory = $true)][string]$TaskPath,
        [Parameter(Mandatory = $true)][string]$TaskName
    )
    return @(Get-ScheduledTask | Where-Object { $_.TaskPath -eq $TaskPath -and $_.TaskName -eq $TaskName }) | Select-Object -First 1
}

function ConvertTo-EcsDockerFormat {
    # A docker --format Go template written with << >> for its delimiters: no script text contains the
    # Jinja delimiters, so a script stays intact if it ever passes through Ansible templating.
    param([Parameter(Mandatory = $true)][string]$Template)
    return $Template.Replace('<<', '{' * 2).Replace('>>', '}' * 2)
}

function Invoke-EcsDocker {
    # docker.exe with arguments as data; returns the Invoke-EcsNative result.
    param([string[]]$ArgumentList, [int]$TimeoutSeconds = 120)
    return Invoke-EcsNative -FilePath 'docker.exe' -ArgumentList $ArgumentList -TimeoutSeconds $TimeoutSeconds
}

function ConvertFrom-EcsCliXmlError {
    # The error text of a CLIXML stream. powershell.exe -EncodedCommand (our scripts inside containers) writes
    # its errors to a redirected stderr as "#< CLIXML" + <Objs><S S="Error">line_x000D__x000A_</S>...</Objs>:
    # XML-escaped, control characters as _xHHHH_.
    param([string]$Text)
    $builder = New-Object -TypeName System.Text.StringBuilder
    foreach ($match in [System.Text.RegularExpressions.Regex]::Matches($Text, '<S S="Error">([^<]*)</S>')) {
        $escaped = [System.Net.WebUtility]::HtmlDecode($match.Groups[1].Value)
        $null = $builder.Append([System.Xml.XmlConvert]::DecodeName($escaped))
    }
    return $builder.ToString()
}

function Get-EcsFirstErrorLine {
    # The first non-empty line of a failed command's stderr (or stdout), for per-container errors.
    param($Run)
    foreach ($stream in @($Run.stderr, $Run.stdout)) {
        $text = [string]$stream
        if ($text.TrimStart().StartsWith('#< CLIXML', [System.StringComparison]::Ordinal)) {
            $text = ConvertFrom-EcsCliXmlError -Text $text
        }
        foreach ($line in ($text -split "`r?`n")) {
            if ($line.Trim().Length -gt 0) {
                return $line.Trim()
            }
        }
    }
    return ('exit code {0}' -f $Run.exit_code)
}

# Reads a container's IPv4 routes (ActiveStore) inside a PowerShell image: "prefix next-hop ifindex metric".
$EcsContainerRoutesScript = @'
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
foreach ($route in @(Get-NetRoute -AddressFamily IPv4 -PolicyStore ActiveStore)) {
    Write-Output -InputObject ('{0} {1} {2} {3}' -f $route.DestinationPrefix, $route.NextHop, $route.ifIndex, $route.RouteMetric)
}
'@

function ConvertTo-EcsEncodedCommand {
    param([Parameter(Mandatory = $true)][string]$Script)
    return [System.Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($Script))
}

function Get-EcsContainerRouteTable {
    # Routes inside a running container, read with PowerShell (Shell 'powershell') or netsh (Shell 'cmd').
    # Returns {ok, error, routes: [{destination, next_hop, interface_index, metric}]}.
    param(
        [Parameter(Mandatory = $true)][string]$Id,
        [Parameter(Mandatory = $true)][string]$Shell
    )
    $routes = New-Object -TypeName System.Collections.Generic.List[object]
    if ($Shell -eq 'powershell') {
        $run = Invoke-EcsDocker -ArgumentList @('exec', $Id, 'powershell.exe', '-NoProfile', '-NonInteractive', '-EncodedCommand', (ConvertTo-EcsEncodedCommand -Script $EcsContainerRoutesScript))
        $pattern = '^\s*(\d+\.\d+\.\d+\.\d+/\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s*$'
    }
    else {
        $run = Invoke-EcsDocker -ArgumentList @('exec', $Id, 'netsh.exe', 'interface', 'ipv4', 'show', 'route')
        # Publish  Type  Met  Prefix  Idx  Gateway/Interface Name
        $pattern = '^\s*(?:Yes|No)\s+\S+\s+(?<metric>\d+)\s+(?<prefix>\d+\.\d+\.\d+\.\d+/\d+)\s+(?<index>\d+)\s+(?<gateway>.+?)\s*$'
    }
    if ($run.exit_code -ne 0) {
        return [pscustomobject]@{ ok = $false; error = (Get-EcsFirstErrorLine -Run $run); routes = @() }
    }
    foreach ($line in ($run.stdout -split "`r?`n")) {
        if ($line -notmatch $pattern) {
            continue
        }
        if ($Shell -eq 'powershell') {
            $route = [ordered]@{ destination = $Matches[1]; next_hop = $Matches[2]; interface_index = [int]$Matches[3]; metric = [int]$Matches[4] }
        }
        else {
            # netsh names the interface instead of a gateway for on-link routes.
            $nextHop = '0.0.0.0'
            $gateway = $Matches['gateway']
            $parsed = $null
            if ($gateway -match '^\d+\.\d+\.\d+\.\d+$' -and [System.Net.IPAddress]::TryParse($gateway, [ref]$parsed)) {
                $nextHop = $gateway
            }
            $route = [ordered]@{ destination = $Matches['prefix']; next_hop = $nextHop; interface_index = [int]$Matches['index']; metric = [int]$Matches['metric'] }
        }
        $routes.Add($route)
    }
    return [pscustomobject]@{ ok = $true; error = $null; routes = $routes.ToArray() }
}

function Get-EcsDefaultRoute {
    # The 0.0.0.0/0 route with the lowest metric from Get-EcsContainerRouteTable's routes, or $null.
    param($Routes)
    return @($Routes | Where-Object { $_.destination -eq '0.0.0.0/0' } | Sort-Object -Property { $_.metric }) | Select-Object -First 1
}

function Invoke-EcsBatch {
    # Runs the base64 JSON batch and writes exactly one JSON document (docs/dev/op-contract.md).
    param([Parameter(Mandatory = $true)][string]$EncodedBatch)
    $ErrorActionPreference = 'Stop'
    $ProgressPreference = 'SilentlyContinue'
    # Commands defined in modules (the CDXML ones such as Remove-NetIPAddress or Get-ScheduledTask, and
    # ECSTools) read the global preferences, not this scope's. The loader sets them globally; the boot task
    # runs this script with -File, so set them here too, or module errors there would be dropped silently.
    $global:ErrorActionPreference = 'Stop'
    $global:ProgressPreference = 'SilentlyContinue'
    # 5.1 serialises a PSObject-wrapped array as {"value":[...],"Count":n} because of this ETS entry.
    if ($null -ne (Get-TypeData -TypeName System.Array)) {
        Remove-TypeData -TypeName System.Array
    }
    $batchText = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($EncodedBatch))
    $batch = ConvertFrom-Json -InputObject $batchText
    if ($batch.contract -ne $EcsContractVersion) {
        throw ("ecs_windows.task_iam: batch contract {0} does not match the script's contract {1}" -f $batch.contract, $EcsContractVersion)
    }
    $calls = @($batch.ops)
    foreach ($call in $calls) {
        if ([string]$call.op -notmatch '^[a-z][a-z_]*$') {
            throw ("ecs_windows.task_iam: invalid op name '{0}'" -f $call.op)
        }
        # Function names follow the op name (case-insensitive): install_ecstools -> Invoke-EcsOpInstallEcsTools.
        $functionName = 'Invoke-EcsOp' + ([string]$call.op -replace '_', '')
        if ($null -eq (Get-Command -Name $functionName -CommandType Function -ErrorAction SilentlyContinue)) {
            throw ("ecs_windows.task_iam: op '{0}' is not defined in this script ({1})" -f $call.op, $functionName)
        }
    }
    $results = New-Object -TypeName System.Collections.Generic.List[object]
    $failure = $null
    for ($index = 0; $index -lt $calls.Count; $index++) {
        $call = $calls[$index]
        $functionName = 'Invoke-EcsOp' + ([string]$call.op -replace '_', '')
        try {
            # *>&1 keeps host, warning and verbose text of called code (e.g. ECSTools) off stdout.
            $emitted = @(& $functionName -Arguments $call.args *>&1)
            $objects = @($emitted | Where-Object {
                    -not ($_ -is [System.Management.Automation.InformationRecord] -or $_ -is [System.Management.Automation.WarningRecord] -or $_ -is [System.Management.Automation.VerboseRecord] -or $_ -is [System.Management.Automation.DebugRecord] -or $_ -is [System.Management.Automation.ErrorRecord])
                })
            if ($objects.Count -ne 1) {
                throw ("op function {0} emitted {1} objects instead of one result" -f $functionName, $objects.Count)
            }
            $results.Add([ordered]@{ op = [string]$call.op; result = $objects[0] })
        }
        catch {
            $category = Get-EcsOpErrorCategory -Exception $_.Exception
            $message = $_.Exception.Message
            if ($null -eq $category -or $EcsErrorCategories -notcontains $category) {
                $position = ''
                if ($null -ne $_.InvocationInfo -and $null -ne $_.InvocationInfo.Line) {
                    $position = ' (at: {0})' -f $_.InvocationInfo.Line.Trim()
                }
                $message = "unexpected error in op '{0}': {1}{2}" -f $call.op, $message, $position
                $category = 'internal'
            }
            $failure = [ordered]@{ op = [string]$call.op; index = $index; category = $category; message = $message }
            break
        }
    }
    $document = [ordered]@{ contract = $EcsContractVersion; results = $results.ToArray(); error = $failure }
    Write-Output -InputObject (ConvertTo-EcsJson -Value $document)
}
