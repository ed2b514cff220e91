# ecs_windows.task_iam op prelude (docs/dev/op-contract.md, docs/dev/powershell.md).
# Windows PowerShell 5.1. Defines helpers and Invoke-EcsBatch; emits nothing by itself. A script carries only the
# blocks its ops use, and the $Ecs... values (contract version, error categories, the host vocabulary) are
# written before them by the builder (plugins/plugin_utils/_script.py) from contract.json and _host.py.

$EcsOpErrorKey = 'ecs_windows.task_iam.category'

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

function Stop-EcsProcessTree {
    # Kills a process and the processes it started (.NET Framework's Process.Kill ends only the one process;
    # ECSTools and docker start children that would otherwise live on).
    param([Parameter(Mandatory = $true)]$Process)
    try {
        $killer = Start-Process -FilePath 'taskkill.exe' -ArgumentList @('/PID', [string]$Process.Id, '/T', '/F') -NoNewWindow -PassThru -Wait
        $null = $killer.ExitCode
    }
    catch {
        $null = $_
    }
    if (-not $Process.HasExited) {
        $Process.Kill()
    }
}

function Invoke-EcsNative {
    # Runs an external program with each argument passed as data (never through a shell), capturing
    # exit code, stdout and stderr (UTF-8 with -Encoding 'UTF8', else the console code page). Avoids PowerShell 5.1
    # native-command quirks (stderr turned into terminating errors under 'Stop', broken embedded quotes).
    # Raises `timeout` after TimeoutSeconds, having killed the program and its children.
    param(
        [Parameter(Mandatory = $true)][string]$FilePath,
        [string[]]$ArgumentList = @(),
        [int]$TimeoutSeconds = 60,
        [string]$Encoding = '',
        [string]$Description = ''
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
    if ($Encoding -eq 'UTF8') {
        $startInfo.StandardOutputEncoding = [System.Text.Encoding]::UTF8
        $startInfo.StandardErrorEncoding = [System.Text.Encoding]::UTF8
    }
    $process = New-Object -TypeName System.Diagnostics.Process
    $process.StartInfo = $startInfo
    $null = $process.Start()
    try {
        $process.StandardInput.Close()
        $stdoutTask = $process.StandardOutput.ReadToEndAsync()
        $stderrTask = $process.StandardError.ReadToEndAsync()
        if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
            Stop-EcsProcessTree -Process $process
            if ($Description.Length -eq 0) {
                $Description = '{0} {1}' -f $FilePath, $startInfo.Arguments
            }
            New-EcsOpError -Category 'timeout' -Message ('{0} did not finish within {1} s and was stopped' -f $Description, $TimeoutSeconds)
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
        [string]$Category = 'host_state',
        [int]$TimeoutSeconds = 60
    )
    $run = Invoke-EcsNative -FilePath $FilePath -ArgumentList $ArgumentList -TimeoutSeconds $TimeoutSeconds
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

function Invoke-EcsHttpRequest {
    # One HTTP request with short timeouts and no proxy (every endpoint asked is local). Returns status, body and
    # error: an HTTP error status is an answer (its body is read), a failed connection is an error message.
    param(
        [Parameter(Mandatory = $true)][string]$Uri,
        [string]$Method = 'GET',
        [hashtable]$Headers = @{},
        [int]$TimeoutMilliseconds = 3000
    )
    $request = [System.Net.HttpWebRequest][System.Net.WebRequest]::Create($Uri)
    $request.Method = $Method
    $request.Timeout = $TimeoutMilliseconds
    $request.ReadWriteTimeout = $TimeoutMilliseconds
    $request.KeepAlive = $false
    $request.Proxy = $null
    foreach ($name in $Headers.Keys) {
        $request.Headers.Add([string]$name, [string]$Headers[$name])
    }
    if ($Method -ne 'GET') {
        $request.ContentLength = 0
    }
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
    $answer = Invoke-EcsHttpRequest -Uri $Uri
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
    $answer = Invoke-EcsHttpRequest -Uri $EcsMetadataUrl
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

function Get-EcsSha256Hex {
    # Lower-case hex sha256 of a string's UTF-8 bytes.
    param([Parameter(Mandatory = $true)][AllowEmptyString()][string]$Text)
    $algorithm = [System.Security.Cryptography.SHA256]::Create()
    try {
        $digest = $algorithm.ComputeHash([System.Text.Encoding]::UTF8.GetBytes($Text))
    }
    finally {
        $algorithm.Dispose()
    }
    return ([System.BitConverter]::ToString($digest) -replace '-', '').ToLowerInvariant()
}

function Test-EcsUsedVariable {
    # The Machine variables whose values the probe reports (the agent's settings, the proxy variables, the
    # collection's own marker); every other variable is reported by name only.
    param([Parameter(Mandatory = $true)][string]$Name)
    return ($Name -match '^(ECS_|ECSWINDOWS_TASK_IAM_)') -or (@('HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY') -contains $Name)
}

function ConvertTo-EcsMaskedValue {
    # A value fit for output (docs/dev/op-contract.md "Secrets"): the whole value of a secret-looking name, and the
    # user information of anything shaped like [scheme://]userinfo@host, become ********; so does a proxy variable
    # holding an @ in any other shape (a URL with a space or a quote in front), whose user information cannot be told
    # apart, and the user information of every scheme://userinfo@ inside any other value.
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][AllowEmptyString()][string]$Value
    )
    if ($Name -match '(AUTH|PASS|PWD|SECRET|TOKEN|CREDENTIAL|KEY)') {
        return '********'
    }
    if ($Value -match '^(?<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?<userinfo>[^\s/?#]*)@(?<rest>[^@]*)$') {
        return '{0}********@{1}' -f $Matches['scheme'], $Matches['rest']
    }
    if ($Value.Contains('@') -and @('HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY') -contains $Name) {
        return '********'
    }
    return ConvertTo-EcsMaskedText -Text $Value
}

function ConvertTo-EcsMaskedText {
    # Free text (an external program's output) with the user information of every URL in it masked.
    param([AllowEmptyString()][string]$Text)
    return [System.Text.RegularExpressions.Regex]::Replace($Text, '(?<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]+@', '${scheme}********@')
}

function Get-EcsMachineEnvironment {
    # {values, hashes, other}: the used Machine variables (masked; for each masked one the sha256 of salt + value,
    # so a planner can tell a change), and the names of all other Machine variables.
    param([Parameter(Mandatory = $true)][string]$Salt)
    $variables = [System.Environment]::GetEnvironmentVariables([System.EnvironmentVariableTarget]::Machine)
    $values = [ordered]@{}
    $hashes = [ordered]@{}
    $other = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($name in @($variables.Keys | Sort-Object)) {
        $name = [string]$name
        if (-not (Test-EcsUsedVariable -Name $name)) {
            $other.Add($name)
            continue
        }
        $value = [string]$variables[$name]
        $masked = ConvertTo-EcsMaskedValue -Name $name -Value $value
        $values[$name] = $masked
        if ($masked -cne $value) {
            $hashes[$name] = Get-EcsSha256Hex -Text ($Salt + $value)
        }
    }
    return [pscustomobject]@{ values = $values; hashes = $hashes; other = $other.ToArray() }
}

function Get-EcsMachineVariableName {
    # The spelling under which a Machine variable exists (names are case-insensitive), or $null.
    param([Parameter(Mandatory = $true)][string]$Name)
    $variables = [System.Environment]::GetEnvironmentVariables([System.EnvironmentVariableTarget]::Machine)
    foreach ($key in $variables.Keys) {
        if ([string]$key -eq $Name) {
            return [string]$key
        }
    }
    return $null
}

function Get-EcsMachineVariable {
    param([Parameter(Mandatory = $true)][string]$Name)
    return [System.Environment]::GetEnvironmentVariable($Name, [System.EnvironmentVariableTarget]::Machine)
}

function Assert-EcsPlainMachineVariable {
    # [Environment]::SetEnvironmentVariable writes REG_SZ: on a REG_EXPAND_SZ variable (Path, TEMP, PSModulePath...)
    # that would stop Windows from expanding the %...% references in it, so such variables are refused.
    param([Parameter(Mandatory = $true)][string]$Name)
    $key = Get-Item -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
    if (@($key.GetValueNames()) -contains $Name -and $key.GetValueKind($Name) -eq [Microsoft.Win32.RegistryValueKind]::ExpandString) {
        New-EcsOpError -Category 'host_state' -Message ("refusing to write Machine variable {0}: it is REG_EXPAND_SZ and writing it would turn it into REG_SZ" -f $Name)
    }
}

function Set-EcsMachineVariable {
    # Writes only when the value differs, under the existing spelling of the name; returns whether it wrote.
    # An empty value would delete the variable (SetEnvironmentVariable semantics): use Remove-EcsMachineVariable.
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][string]$Value
    )
    $existing = Get-EcsMachineVariableName -Name $Name
    if ($null -ne $existing) {
        if ((Get-EcsMachineVariable -Name $existing) -ceq $Value) {
            return $false
        }
        $Name = $existing
        Assert-EcsPlainMachineVariable -Name $Name
    }
    [System.Environment]::SetEnvironmentVariable($Name, $Value, [System.EnvironmentVariableTarget]::Machine)
    return $true
}

function Remove-EcsMachineVariable {
    # Returns whether the variable existed (under any spelling).
    param([Parameter(Mandatory = $true)][string]$Name)
    $existing = Get-EcsMachineVariableName -Name $Name
    if ($null -eq $existing) {
        return $false
    }
    Assert-EcsPlainMachineVariable -Name $existing
    [System.Environment]::SetEnvironmentVariable($existing, $null, [System.EnvironmentVariableTarget]::Machine)
    return $true
}

function Get-EcsFlagVariable {
    # A boolean agent setting: "true" in any case is on, anything else (or unset) off.
    param([Parameter(Mandatory = $true)][string]$Name)
    return ([string](Get-EcsMachineVariable -Name $Name)).Trim() -eq 'true'
}

function Get-EcsListVariable {
    # A JSON-list agent setting (ECS_AVAILABLE_LOGGING_DRIVERS): its strings, or $null when unset or not a JSON
    # list of strings. Assigned straight from ConvertFrom-Json, which emits a JSON array as one object in 5.1 (a
    # function's plain `return` would unroll it: '[]' would become $null), and returned with the unary comma.
    param([Parameter(Mandatory = $true)][string]$Name)
    $text = Get-EcsMachineVariable -Name $Name
    if ([string]::IsNullOrWhiteSpace($text)) {
        return $null
    }
    try {
        $parsed = ConvertFrom-Json -InputObject $text
    }
    catch {
        return $null
    }
    if (-not ($parsed -is [array]) -or @($parsed | Where-Object { -not ($_ -is [string]) }).Count -gt 0) {
        return $null
    }
    return , ([string[]]$parsed)
}

function Get-EcsAgentSettings {
    # The Initialize-ECSAgent settings that re-create the host's current configuration from its Machine
    # environment (case-insensitive names), or $null when ECS_CLUSTER is not set (docs/dev/host-facts.md).
    $cluster = Get-EcsMachineVariable -Name 'ECS_CLUSTER'
    if ([string]::IsNullOrEmpty($cluster)) {
        return $null
    }
    $drivers = Get-EcsListVariable -Name 'ECS_AVAILABLE_LOGGING_DRIVERS'
    $routes = Get-EcsListVariable -Name 'ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES'
    return [ordered]@{
        cluster = $cluster
        enable_task_iam_role = Get-EcsFlagVariable -Name 'ECS_ENABLE_TASK_IAM_ROLE'
        version = $null
        logging_drivers = $drivers
        enable_task_eni = Get-EcsFlagVariable -Name 'ECS_ENABLE_TASK_ENI'
        awsvpc_block_imds = Get-EcsFlagVariable -Name 'ECS_AWSVPC_BLOCK_IMDS'
        awsvpc_additional_local_routes = $routes
    }
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

function Test-EcsPortFilterHolds {
    # Whether a firewall port filter's LocalPort (e.g. '51679', '51000-52000', 'Any', or a list of them) holds Port.
    param($LocalPort, [Parameter(Mandatory = $true)][int]$Port)
    foreach ($entry in @($LocalPort)) {
        $text = [string]$entry
        if ($text -match '^\s*(\d+)\s*-\s*(\d+)\s*$') {
            if ([int]$Matches[1] -le $Port -and $Port -le [int]$Matches[2]) {
                return $true
            }
        }
        elseif ($text.Trim() -eq [string]$Port) {
            return $true
        }
    }
    return $false
}

function Get-EcsProxyFirewallRules {
    # The credential proxy's firewall rules, identified by a local port filter holding 51679 (ECSTools names its
    # rule "Allow Inbound Port 51679", docs/dev/host-facts.md): [{rule, filter}].
    $found = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($filter in @(Get-NetFirewallPortFilter -All | Where-Object { Test-EcsPortFilterHolds -LocalPort $_.LocalPort -Port $EcsTmdsPort })) {
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

function Get-EcsScheduledTask {
    # The task at path+name, or $null (looked up by name: listing every task is slow on a busy host).
    param(
        [Parameter(Mandatory = $true)][string]$TaskPath,
        [Parameter(Mandatory = $true)][string]$TaskName
    )
    return Get-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -ErrorAction SilentlyContinue | Select-Object -First 1
}

function ConvertTo-EcsTaskTime {
    # A task's LastRunTime as UTC text, or $null when it never ran (Task Scheduler reports 1999-11-30 then).
    param($Time)
    if ($null -eq $Time -or -not ($Time -is [datetime]) -or $Time.Year -lt 2000) {
        return $null
    }
    return $Time.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
}

function Get-EcsScheduledTaskFacts {
    # The probe's view of one scheduled task: first action, boot trigger, principal, limit, last run.
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
    $principal = $null
    if ($null -ne $Task.Principal -and -not [string]::IsNullOrEmpty([string]$Task.Principal.UserId)) {
        $principal = [string]$Task.Principal.UserId
    }
    $limit = $null
    if ($null -ne $Task.Settings -and -not [string]::IsNullOrEmpty([string]$Task.Settings.ExecutionTimeLimit)) {
        $limit = [string]$Task.Settings.ExecutionTimeLimit
    }
    # Task Scheduler keeps no registration time it reports reliably (RegistrationInfo.Date is whatever the author
    # wrote); the task's definition file under System32\Tasks is rewritten at every registration.
    $definition = Get-Item -LiteralPath (Join-Path -Path $env:SystemRoot -ChildPath ('System32\Tasks' + $Task.TaskPath + $Task.TaskName)) -ErrorAction SilentlyContinue
    $registered = $null
    if ($null -ne $definition) {
        $registered = ConvertTo-EcsTaskTime -Time $definition.LastWriteTimeUtc
    }
    $info = Get-ScheduledTaskInfo -TaskPath $Task.TaskPath -TaskName $Task.TaskName -ErrorAction SilentlyContinue
    $lastRun = $null
    $lastResult = $null
    if ($null -ne $info) {
        $lastRun = ConvertTo-EcsTaskTime -Time $info.LastRunTime
        if ($null -ne $lastRun) {
            $lastResult = [long]$info.LastTaskResult
        }
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
        principal = $principal
        execution_limit = $limit
        last_run_time = $lastRun
        last_result = $lastResult
        registered_time = $registered
    }
}

function ConvertTo-EcsDockerFormat {
    # A docker --format Go template written with << >> for its delimiters: no script text contains the
    # Jinja delimiters, so a script stays intact if it ever passes through Ansible templating.
    param([Parameter(Mandatory = $true)][string]$Template)
    return $Template.Replace('<<', '{' * 2).Replace('>>', '}' * 2)
}

function Invoke-EcsDocker {
    # docker.exe with arguments as data and UTF-8 output; returns the Invoke-EcsNative result.
    param([string[]]$ArgumentList, [int]$TimeoutSeconds = 30, [string]$Description = '')
    return Invoke-EcsNative -FilePath 'docker.exe' -ArgumentList $ArgumentList -TimeoutSeconds $TimeoutSeconds -Encoding 'UTF8' -Description $Description
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
    # Routes inside a running container, read with PowerShell (Shell 'powershell') or netsh (Shell 'cmd'), waiting
    # at most TimeoutSeconds. Returns {ok, timed_out, error, routes: [{destination, next_hop, interface_index, metric}]}.
    param(
        [Parameter(Mandatory = $true)][string]$Id,
        [Parameter(Mandatory = $true)][string]$Shell,
        [int]$TimeoutSeconds = 15
    )
    $routes = New-Object -TypeName System.Collections.Generic.List[object]
    if ($Shell -eq 'powershell') {
        $arguments = @('exec', $Id, 'powershell.exe', '-NoProfile', '-NonInteractive', '-EncodedCommand', (ConvertTo-EcsEncodedCommand -Script $EcsContainerRoutesScript))
        $pattern = '^\s*(\d+\.\d+\.\d+\.\d+/\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s*$'
    }
    else {
        $arguments = @('exec', $Id, 'netsh.exe', 'interface', 'ipv4', 'show', 'route')
        # Publish  Type  Met  Prefix  Idx  Gateway/Interface Name
        $pattern = '^\s*(?:Yes|No)\s+\S+\s+(?<metric>\d+)\s+(?<prefix>\d+\.\d+\.\d+\.\d+/\d+)\s+(?<index>\d+)\s+(?<gateway>.+?)\s*$'
    }
    try {
        $run = Invoke-EcsDocker -ArgumentList $arguments -TimeoutSeconds $TimeoutSeconds -Description ('docker exec {0} ({1})' -f $Id.Substring(0, 12), $Shell)
    }
    catch {
        if ((Get-EcsOpErrorCategory -Exception $_.Exception) -ne 'timeout') {
            throw
        }
        return [pscustomobject]@{ ok = $false; timed_out = $true; error = $_.Exception.Message; routes = @() }
    }
    if ($run.exit_code -ne 0) {
        return [pscustomobject]@{ ok = $false; timed_out = $false; error = (Get-EcsFirstErrorLine -Run $run); routes = @() }
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
    return [pscustomobject]@{ ok = $true; timed_out = $false; error = $null; routes = $routes.ToArray() }
}

function Get-EcsDefaultRoute {
    # The 0.0.0.0/0 route with the lowest metric from Get-EcsContainerRouteTable's routes, or $null.
    param($Routes)
    return @($Routes | Where-Object { $_.destination -eq '0.0.0.0/0' } | Sort-Object -Property { $_.metric }) | Select-Object -First 1
}

function Wait-EcsServiceStatus {
    # Waits at most TimeoutSeconds for a service to reach Status; raises `timeout` naming the service and the
    # state it is stuck in (Stop-Service and Restart-Service would wait forever on a service in StopPending).
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][System.ServiceProcess.ServiceControllerStatus]$Status,
        [Parameter(Mandatory = $true)][int]$TimeoutSeconds
    )
    $service = Get-Service -Name $Name
    try {
        $service.WaitForStatus($Status, [System.TimeSpan]::FromSeconds($TimeoutSeconds))
    }
    catch {
        if ($null -eq (Get-EcsInnerException -Exception $_.Exception -Type ([System.ServiceProcess.TimeoutException]))) {
            throw
        }
        $service.Refresh()
        New-EcsOpError -Category 'timeout' -Message ("service {0} is still {1} after {2} s (waiting for {3}); find what holds it with: Get-CimInstance -ClassName Win32_Service -Filter ""Name='{0}'""" -f $Name, $service.Status, $TimeoutSeconds, $Status)
    }
}

function Stop-EcsService {
    # Stop-Service -Force (stops the services that depend on it too) without waiting, then a bounded wait.
    # Returns the names of the dependents it stopped (as a list, also when there are none).
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][int]$TimeoutSeconds
    )
    $service = Get-Service -Name $Name
    if ($service.Status.ToString() -eq 'Stopped') {
        return , @()
    }
    $dependents = @($service.DependentServices | Where-Object { $_.Status.ToString() -ne 'Stopped' })
    Stop-Service -Name $Name -Force -NoWait
    Wait-EcsServiceStatus -Name $Name -Status ([System.ServiceProcess.ServiceControllerStatus]::Stopped) -TimeoutSeconds $TimeoutSeconds
    return , @($dependents | ForEach-Object { [string]$_.Name })
}

function Start-EcsService {
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][int]$TimeoutSeconds
    )
    $service = Get-Service -Name $Name
    if ($service.Status.ToString() -ne 'Running') {
        $service.Start()
        Wait-EcsServiceStatus -Name $Name -Status ([System.ServiceProcess.ServiceControllerStatus]::Running) -TimeoutSeconds $TimeoutSeconds
    }
}

function Get-EcsAclFacts {
    # {exists, owner, owner_sid, protected, writable_by} of a file or folder: writable_by lists who, other than
    # SYSTEM and Administrators, may change it (docs/dev/host-facts.md "The boot folder").
    param([Parameter(Mandatory = $true)][string]$Path)
    if (-not (Test-Path -LiteralPath $Path)) {
        return [ordered]@{ exists = $false; owner = $null; owner_sid = $null; protected = $false; writable_by = @() }
    }
    $acl = Get-Acl -LiteralPath $Path
    $trusted = @('S-1-5-18', 'S-1-5-32-544')
    $write = [System.Security.AccessControl.FileSystemRights]'WriteData, AppendData, WriteExtendedAttributes, WriteAttributes, Delete, DeleteSubdirectoriesAndFiles, ChangePermissions, TakeOwnership'
    $writers = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($rule in @($acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]))) {
        if ($rule.AccessControlType -ne [System.Security.AccessControl.AccessControlType]::Allow) {
            continue
        }
        if ($trusted -contains $rule.IdentityReference.Value -or ($rule.FileSystemRights -band $write) -eq 0) {
            continue
        }
        $who = $rule.IdentityReference.Value
        try {
            $who = $rule.IdentityReference.Translate([System.Security.Principal.NTAccount]).Value
        }
        catch {
            $null = $_
        }
        if (-not $writers.Contains($who)) {
            $writers.Add($who)
        }
    }
    $ownerSid = $acl.GetOwner([System.Security.Principal.SecurityIdentifier]).Value
    return [ordered]@{ exists = $true; owner = [string]$acl.Owner; owner_sid = $ownerSid; protected = [bool]$acl.AreAccessRulesProtected; writable_by = $writers.ToArray() }
}

function Test-EcsAclTrusted {
    param([Parameter(Mandatory = $true)]$Facts)
    return $Facts.exists -and $Facts.protected -and @('S-1-5-18', 'S-1-5-32-544') -contains $Facts.owner_sid -and @($Facts.writable_by).Count -eq 0
}

function Initialize-EcsBootFolder {
    # The folder of everything the collection leaves to run as SYSTEM: owner Administrators, full control for
    # SYSTEM and Administrators only, nothing inherited. A folder found in another state is made so and emptied,
    # because whoever could write there may have replaced the script or forged its log. Returns whether it changed.
    $facts = Get-EcsAclFacts -Path $EcsBootDir
    if (Test-EcsAclTrusted -Facts $facts) {
        return $false
    }
    if (-not $facts.exists) {
        $null = New-Item -ItemType Directory -Path $EcsBootDir -Force
    }
    $security = New-Object -TypeName System.Security.AccessControl.DirectorySecurity
    $administrators = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-544'
    $system = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-18'
    $security.SetOwner($administrators)
    $security.SetAccessRuleProtection($true, $false)
    foreach ($sid in @($system, $administrators)) {
        $rule = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList @($sid, [System.Security.AccessControl.FileSystemRights]::FullControl, [System.Security.AccessControl.InheritanceFlags]'ContainerInherit, ObjectInherit', [System.Security.AccessControl.PropagationFlags]::None, [System.Security.AccessControl.AccessControlType]::Allow)
        $security.AddAccessRule($rule)
    }
    try {
        [System.IO.Directory]::SetAccessControl($EcsBootDir, $security)
    }
    catch {
        if ($null -eq (Get-EcsInnerException -Exception $_.Exception -Type ([System.UnauthorizedAccessException]))) {
            throw
        }
        New-EcsOpError -Category 'host_state' -Message ("cannot secure {0} (owner {1}): {2} Take it over, then run again: takeown.exe /F ""{0}"" /A /R /D Y" -f $EcsBootDir, $facts.owner, $_.Exception.Message)
    }
    foreach ($item in @(Get-ChildItem -LiteralPath $EcsBootDir -Force)) {
        Remove-Item -LiteralPath $item.FullName -Recurse -Force
    }
    return $true
}

function Enter-EcsHostLock {
    # Takes the one system-wide mutex of the collection (every mutating batch and the boot-time repair hold it),
    # waiting at most WaitSeconds; records who holds it so that a run that cannot get it can say. Returns the mutex.
    param(
        [Parameter(Mandatory = $true)][int]$WaitSeconds,
        [Parameter(Mandatory = $true)][string]$Holder
    )
    $mutex = New-Object -TypeName System.Threading.Mutex -ArgumentList @($false, $EcsMutexName)
    $acquired = $false
    try {
        $acquired = $mutex.WaitOne($WaitSeconds * 1000)
    }
    catch {
        if ($null -eq (Get-EcsInnerException -Exception $_.Exception -Type ([System.Threading.AbandonedMutexException]))) {
            throw
        }
        # The last holder died without releasing it (a killed run, a reboot): the lock is ours now.
        $acquired = $true
    }
    if (-not $acquired) {
        $mutex.Dispose()
        $who = 'a run that left no record'
        if (Test-Path -LiteralPath $EcsLockInfoPath -PathType Leaf) {
            $record = ConvertFrom-EcsJsonOrNull -Text ([System.IO.File]::ReadAllText($EcsLockInfoPath))
            if ($null -ne $record) {
                $who = '{0} (pid {1}, since {2})' -f $record.holder, $record.pid, $record.since
            }
        }
        New-EcsOpError -Category 'locked' -Message ("the host lock {0} is held by {1}; waited {2} s. Run again once it has finished" -f $EcsMutexName, $who, $WaitSeconds)
    }
    try {
        $null = Initialize-EcsBootFolder
        $record = ConvertTo-EcsJson -Value ([pscustomobject]@{ holder = $Holder; pid = $PID; since = Get-EcsUtcNow })
        [System.IO.File]::WriteAllText($EcsLockInfoPath, $record)
    }
    catch {
        $mutex.ReleaseMutex()
        $mutex.Dispose()
        throw
    }
    return $mutex
}

function Exit-EcsHostLock {
    param($Mutex)
    if ($null -eq $Mutex) {
        return
    }
    Remove-Item -LiteralPath $EcsLockInfoPath -Force -ErrorAction SilentlyContinue
    $Mutex.ReleaseMutex()
    $Mutex.Dispose()
}

function Save-EcsLibrary {
    # Keeps the library the controller sent (bootstrap.ps1: $EcsLibrary) in the secured boot folder, under its
    # sha256, written to a temporary name and moved into place. Returns the cache state: 'stored'.
    $digest = [System.Security.Cryptography.SHA256]::Create().ComputeHash([System.Text.Encoding]::UTF8.GetBytes($EcsLibrary))
    if (([System.BitConverter]::ToString($digest) -replace '-', '') -ne $EcsLibraryHash) {
        return 'absent'
    }
    $null = Initialize-EcsBootFolder
    if (-not (Test-Path -LiteralPath $EcsCacheDir -PathType Container)) {
        $null = New-Item -ItemType Directory -Path $EcsCacheDir -Force
    }
    foreach ($old in @(Get-ChildItem -LiteralPath $EcsCacheDir -Filter '*.ps1' -Force)) {
        Remove-Item -LiteralPath $old.FullName -Force
    }
    $temporary = '{0}\{1}.tmp' -f $EcsCacheDir, $EcsLibraryHash
    [System.IO.File]::WriteAllText($temporary, $EcsLibrary, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))
    Move-Item -LiteralPath $temporary -Destination ('{0}\{1}.ps1' -f $EcsCacheDir, $EcsLibraryHash) -Force
    return 'stored'
}

function Invoke-EcsBatch {
    # Runs the base64 JSON batch and writes exactly one JSON document (docs/dev/op-contract.md). A batch with a
    # `lock` holds the host lock while its ops run.
    param([Parameter(Mandatory = $true)][string]$EncodedBatch)
    $ErrorActionPreference = 'Stop'
    $ProgressPreference = 'SilentlyContinue'
    # Commands defined in modules (the CDXML ones such as Remove-NetIPAddress or Get-ScheduledTask) read the
    # global preferences, not this scope's. The loader sets them globally; the boot task runs this script with
    # -File, so set them here too, or module errors there would be dropped silently.
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
    $mutex = $null
    $index = 0
    try {
        if ($null -ne $batch.lock) {
            $mutex = Enter-EcsHostLock -WaitSeconds ([int]$batch.lock.wait_s) -Holder ([string]$batch.lock.holder)
        }
        for ($index = 0; $index -lt $calls.Count; $index++) {
            $call = $calls[$index]
            $functionName = 'Invoke-EcsOp' + ([string]$call.op -replace '_', '')
            # *>&1 keeps host, warning and verbose text of called code off stdout.
            $emitted = @(& $functionName -Arguments $call.args *>&1)
            $objects = @($emitted | Where-Object {
                    -not ($_ -is [System.Management.Automation.InformationRecord] -or $_ -is [System.Management.Automation.WarningRecord] -or $_ -is [System.Management.Automation.VerboseRecord] -or $_ -is [System.Management.Automation.DebugRecord] -or $_ -is [System.Management.Automation.ErrorRecord])
                })
            if ($objects.Count -ne 1) {
                throw ("op function {0} emitted {1} objects instead of one result" -f $functionName, $objects.Count)
            }
            $results.Add([ordered]@{ op = [string]$call.op; result = $objects[0] })
        }
    }
    catch {
        $opName = ''
        if ($index -lt $calls.Count) {
            $opName = [string]$calls[$index].op
        }
        $category = Get-EcsOpErrorCategory -Exception $_.Exception
        $message = $_.Exception.Message
        if ($null -eq $category -or $EcsErrorCategories -notcontains $category) {
            $position = ''
            if ($null -ne $_.InvocationInfo -and $null -ne $_.InvocationInfo.Line) {
                $position = ' (at: {0})' -f $_.InvocationInfo.Line.Trim()
            }
            $message = "unexpected error in op '{0}': {1}{2}" -f $opName, $message, $position
            $category = 'internal'
        }
        $failure = [ordered]@{ op = $opName; index = $index; category = $category; message = $message }
    }
    finally {
        if ($null -ne $mutex) {
            Exit-EcsHostLock -Mutex $mutex
        }
    }
    # The library: kept when the controller sent it and may store it (not in check mode), whatever the ops did.
    $cache = $null
    if ($null -ne (Get-Variable -Name 'EcsCacheState' -ErrorAction SilentlyContinue)) {
        $cache = $EcsCacheState
        if ($batch.store -eq $true -and $null -ne $EcsLibrary -and @('hit', 'present') -notcontains $cache) {
            try {
                $cache = Save-EcsLibrary
            }
            catch {
                $cache = 'absent'
            }
        }
    }
    $document = [ordered]@{ contract = $EcsContractVersion; cache = $cache; results = $results.ToArray(); error = $failure }
    Write-Output -InputObject (ConvertTo-EcsJson -Value $document)
}
