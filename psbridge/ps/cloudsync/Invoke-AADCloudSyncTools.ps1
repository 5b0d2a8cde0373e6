# Runs one exported function of AADCloudSyncTools, the module that ships with the Microsoft Entra
# provisioning agent (Cloud Sync), and projects its output so it survives remoting.
#
# Before anything can prompt or hang, in order:
#   1. Windows PowerShell 5.1: the module's Graph error path breaks on PowerShell 7.
#   2. The agent's registry key and TenantID: without them, importing the module calls Read-Host.
#   3. MSAL.PS, for the functions that sign in or call Graph.
#   4. The module, imported once per runspace: its state, including the sign-in, lives there.
#   5. The function is exported by this build (Repair-AADCloudSyncToolsAccount left in agent 1.1.2505.0).
#   6. The module is signed in, when the caller says the function needs it.
# Remove-AADCloudSyncToolsGroupMembers is left out: it asks y/n with Read-Host.
#
# Get-AADCloudSyncToolsJobStatus: a quarantine the service reports with a code other than Quarantine is
# added, as the module adds it for Quarantine (the module drops it).
# Output: module objects become flat objects whose nested values are compressed JSON text; raw Graph
# objects (schema, service principals, users) become one JSON document each. Tokens never leave the
# host: Get-AADCloudSyncToolsInfo is redacted here. Connect relays the device-code instruction, which
# MSAL.PS writes to the console (invisible to a remote session), as information records while it waits.
#
# Scope: psbridge runs every script in a scope of its own. What outlives the call on purpose: the module,
# imported with -Global (its state, the sign-in included, must last the runspace's life). While Connect
# runs, a Start-Sleep function is defined in the global scope, the only one module code sees, and removed
# when it returns. Paths the caller gives (ModulePath, OutputPath) are resolved against this session's
# current location before a module or .NET sees them: .NET resolves a relative path against the process's
# working directory, which is not $PWD.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidateSet(
        'Install-AADCloudSyncToolsPrerequisites',
        'Connect-AADCloudSyncTools',
        'Set-AADCloudSyncToolsTenantId',
        'Get-AADCloudSyncToolsServiceAccount',
        'Get-AADCloudSyncToolsInfo',
        'Get-AADCloudSyncToolsServicePrincipal',
        'Get-AADCloudSyncToolsJob',
        'Get-AADCloudSyncToolsJobSchedule',
        'Get-AADCloudSyncToolsJobSchema',
        'Set-AADCloudSyncToolsJobSchema',
        'Get-AADCloudSyncToolsJobSettings',
        'Get-AADCloudSyncToolsJobStatus',
        'Get-AADCloudSyncToolsJobScope',
        'Invoke-AADCloudSyncToolsGraphQuery',
        'Repair-AADCloudSyncToolsAccount',
        'Resume-AADCloudSyncToolsJob',
        'Suspend-AADCloudSyncToolsJob',
        'Restart-AADCloudSyncToolsJob',
        'Start-AADCloudSyncToolsVerboseLogs',
        'Stop-AADCloudSyncToolsVerboseLogs',
        'Export-AADCloudSyncToolsLogs',
        'Disable-AADCloudSyncToolsDirSyncAccidentalDeletionPrevention'
    )]
    [string]$Function,
    [hashtable]$Arguments = @{},
    [string]$ModulePath = 'C:\Program Files\Microsoft Azure AD Connect Provisioning Agent\Utility\AADCloudSyncTools',
    [switch]$RequireConnection,
    [switch]$CheckOnly
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$agentKey = 'HKLM:\SOFTWARE\Microsoft\Azure AD Connect Agents\Azure AD Connect Provisioning Agent'
$jsonOutput = @(
    'Get-AADCloudSyncToolsJobSchema',
    'Set-AADCloudSyncToolsJobSchema',
    'Get-AADCloudSyncToolsServicePrincipal',
    'Get-AADCloudSyncToolsServiceAccount'
)

function Stop-Here([string]$Id, [string]$Message, [System.Management.Automation.ErrorCategory]$Category) {
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, $Id, $Category, $null
    $PSCmdlet.ThrowTerminatingError($record)
}

function Resolve-FileSystemPath([string]$Path, [string]$Name) {
    # A relative path resolved against this session's current location (as Get-Item would), so a module
    # or .NET method that resolves against the process's working directory gets the same place.
    # https://learn.microsoft.com/dotnet/api/system.management.automation.pathintrinsics.getunresolvedproviderpathfrompspath
    $provider = $null
    $drive = $null
    $resolved = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path, [ref]$provider, [ref]$drive)
    if ($provider.Name -ne 'FileSystem') {
        Stop-Here 'PsbridgeCloudSync.NotAFileSystemPath' "$Name '$Path' is not a file system path on $env:COMPUTERNAME (it resolves to the $($provider.Name) provider)." 'InvalidArgument'
    }
    $resolved
}

function Get-AgentVersion {
    $agent = Get-ItemProperty -LiteralPath $agentKey -ErrorAction SilentlyContinue
    if ($agent -and $agent.InstallDir -and $agent.ServiceProcessName) {
        $exe = Join-Path -Path $agent.InstallDir -ChildPath $agent.ServiceProcessName
        if (Test-Path -LiteralPath $exe) {
            return [string](Get-Item -LiteralPath $exe).VersionInfo.FileVersion
        }
    }
    'unknown'
}

function ConvertTo-Flat($Item) {
    if ($null -eq $Item -or $Item -is [string] -or $Item -is [ValueType]) {
        return $Item
    }
    $flat = [ordered]@{}
    foreach ($property in $Item.PSObject.Properties) {
        $value = $property.Value
        if ($null -eq $value -or $value -is [string] -or $value -is [ValueType]) {
            $flat[$property.Name] = $value
        }
        else {
            $flat[$property.Name] = ConvertTo-Json -InputObject $value -Depth 32 -Compress
        }
    }
    [pscustomobject]$flat
}

function Hide-Tokens($Item) {
    $copy = [ordered]@{}
    foreach ($property in $Item.PSObject.Properties) {
        $value = $property.Value
        $bearsToken = $property.Name -match 'Token|Header|Authorization|Secret|Password'
        if (($bearsToken -and $null -ne $value -and "$value" -ne '') -or ($value -is [string] -and $value -match '(?i)bearer\s|eyJ[A-Za-z0-9_-]{8,}\.')) {
            $value = '[redacted]'
        }
        $copy[$property.Name] = $value
    }
    [pscustomobject]$copy
}

# 1. The module's error path reads HttpWebResponse, which PowerShell 7 does not have.
if ($PSVersionTable.PSEdition -ne 'Desktop') {
    Stop-Here 'PsbridgeCloudSync.Prerequisite.WindowsPowerShell' "AADCloudSyncTools needs Windows PowerShell 5.1 (the Microsoft.PowerShell endpoint); this endpoint on $env:COMPUTERNAME runs PowerShell $($PSVersionTable.PSVersion)." 'NotInstalled'
}

$ModulePath = Resolve-FileSystemPath $ModulePath 'ModulePath'
$module = Get-Module -Name AADCloudSyncTools | Select-Object -First 1
if (-not $module) {
    # 2. Importing without the agent's TenantID calls Read-Host, which a remote session cannot answer.
    $agent = Get-ItemProperty -LiteralPath $agentKey -ErrorAction SilentlyContinue
    if (-not $agent) {
        Stop-Here 'PsbridgeCloudSync.Prerequisite.AgentNotInstalled' "The Microsoft Entra provisioning agent is not installed on $env:COMPUTERNAME (no registry key $agentKey); AADCloudSyncTools runs only on an agent server." 'NotInstalled'
    }
    if (-not "$($agent.TenantID)") {
        Stop-Here 'PsbridgeCloudSync.Prerequisite.AgentNotRegistered' "The Microsoft Entra provisioning agent on $env:COMPUTERNAME has no TenantID in $agentKey (not registered); importing AADCloudSyncTools would prompt for one." 'NotInstalled'
    }
    if (-not (Test-Path -LiteralPath $ModulePath)) {
        Stop-Here 'PsbridgeCloudSync.Prerequisite.ModuleNotFound' "AADCloudSyncTools not found at $ModulePath on $env:COMPUTERNAME (provisioning agent $(Get-AgentVersion)); give the module path if it is installed elsewhere." 'NotInstalled'
    }
}

# 3. Signing in and every Graph call go through MSAL.PS.
if ($RequireConnection -or $Function -eq 'Connect-AADCloudSyncTools') {
    if (-not (Get-Module -Name MSAL.PS) -and -not (Get-Module -Name MSAL.PS -ListAvailable)) {
        $missing = @('MSAL.PS')
        $current = Get-Module -Name PowerShellGet -ListAvailable | Where-Object { $_.Version -ge [version]'2.2.4.1' }
        if (-not $current) {
            $missing += 'PowerShellGet 2.2.4.1 or later'
        }
        Stop-Here 'PsbridgeCloudSync.Prerequisite.Missing' "AADCloudSyncTools prerequisites missing on ${env:COMPUTERNAME}: $($missing -join ', '); install them with Install-AADCloudSyncToolsPrerequisites." 'NotInstalled'
    }
}

# 4. Import once per runspace; the import's host chatter (tenant banner, sign-in hint) is dropped.
if (-not $module) {
    $module = Import-Module -Name $ModulePath -Global -PassThru -DisableNameChecking 6>$null | Select-Object -First 1
}

# 5. Builds differ: ask the module, not a version table.
if (-not (Get-Command -Name $Function -Module $module.Name -ErrorAction SilentlyContinue)) {
    Stop-Here 'PsbridgeCloudSync.FunctionNotExported' "$Function is not exported by the AADCloudSyncTools module in $($module.ModuleBase) on $env:COMPUTERNAME (provisioning agent $(Get-AgentVersion))." 'NotInstalled'
}

# 6. The sign-in lives in this runspace only.
if ($RequireConnection -and -not (& $module { $connected = $script:AADCloudSyncTools.Connected; $connected -is [bool] -and $connected })) {
    Stop-Here 'PsbridgeCloudSync.NotConnected' "AADCloudSyncTools is not signed in in this session on ${env:COMPUTERNAME}: call Connect-AADCloudSyncTools in the same session first." 'InvalidOperation'
}

if ($CheckOnly) {
    return
}

if ($Function -eq 'Connect-AADCloudSyncTools') {
    $captured = New-Object -TypeName System.IO.StringWriter
    $console = [System.IO.TextWriter]::Synchronized($captured)
    $relayed = @{ Length = 0 }
    $relay = {
        [System.Threading.Monitor]::Enter($console)
        try {
            $text = $captured.ToString()
        }
        finally {
            [System.Threading.Monitor]::Exit($console)
        }
        if ($text.Length -gt $relayed.Length) {
            foreach ($line in ($text.Substring($relayed.Length) -split "`r?`n")) {
                if ($line.Trim()) {
                    Write-Information -MessageData $line.Trim() -Tags 'DeviceCode' -InformationAction Continue
                }
            }
            $relayed.Length = $text.Length
        }
    }.GetNewClosure()
    # MSAL.PS polls its token task with Start-Sleep on this thread: relay between its sleeps. Module code
    # resolves commands in its own scope, then the global one, never in this script's: hence global, and
    # removed in the finally below.
    $sleep = {
        param([int]$Seconds, [int]$Milliseconds)
        & $relay
        if ($PSBoundParameters.ContainsKey('Milliseconds')) {
            Microsoft.PowerShell.Utility\Start-Sleep -Milliseconds $Milliseconds
        }
        else {
            Microsoft.PowerShell.Utility\Start-Sleep -Seconds $Seconds
        }
    }.GetNewClosure()
    $previous = [Console]::Out
    [Console]::SetOut($console)
    Set-Item -Path function:global:Start-Sleep -Value $sleep
    try {
        $null = & $Function @Arguments
    }
    finally {
        Remove-Item -Path function:global:Start-Sleep -ErrorAction SilentlyContinue
        [Console]::SetOut($previous)
        & $relay
    }
    & $module {
        [pscustomobject]@{
            TenantId  = [string]$script:AADCloudSyncTools.TenantId
            Username  = [string]$script:AADCloudSyncTools.Username
            Connected = $script:AADCloudSyncTools.Connected -is [bool] -and $script:AADCloudSyncTools.Connected
        }
    }
    return
}

$folder = $null
if ($Function -eq 'Export-AADCloudSyncToolsLogs') {
    # The module zips into OutputPath with .NET, which resolves a relative path against the process's
    # working directory: hand it the path resolved here, and look for the zip in the same place.
    $folder = [Environment]::GetFolderPath('MyDocuments')
    if ($Arguments.ContainsKey('OutputPath') -and "$($Arguments['OutputPath'])" -ne '') {
        $folder = Resolve-FileSystemPath ([string]$Arguments['OutputPath']) 'OutputPath'
        $Arguments = $Arguments.Clone()
        $Arguments['OutputPath'] = $folder
    }
}

$started = Get-Date
$output = @(& $Function @Arguments)

if ($Function -eq 'Get-AADCloudSyncToolsJobStatus' -and @($output | Where-Object { $_.code -ne 'Quarantine' }).Count -gt 0) {
    # The module flattens status.quarantine only when the code is Quarantine, but Graph reports one with
    # other codes too (Microsoft's example job is Paused with a quarantine:
    # https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-get). Add it from the raw
    # jobs, named as the module names it (quarantine_<name>, quarantineError_<name>).
    $raw = @{}
    foreach ($job in @(Get-AADCloudSyncToolsJob @Arguments -RawData)) {
        $raw[[string]$job.id] = $job
    }
    foreach ($item in $output) {
        $job = $raw[[string]$item.id]
        $quarantine = if ($job -and $job.status) { $job.status.quarantine } else { $null }
        if ($item.code -eq 'Quarantine' -or $null -eq $quarantine -or "$quarantine" -eq '') {
            continue
        }
        $item.PSObject.Properties.Remove('quarantine')
        foreach ($property in $quarantine.PSObject.Properties) {
            if ($property.Name -ne 'error') {
                Add-Member -InputObject $item -MemberType NoteProperty -Name "quarantine_$($property.Name)" -Value $property.Value -Force
            }
        }
        if ($null -ne $quarantine.error) {
            foreach ($property in $quarantine.error.PSObject.Properties) {
                Add-Member -InputObject $item -MemberType NoteProperty -Name "quarantineError_$($property.Name)" -Value $property.Value -Force
            }
        }
    }
}

if ($Function -eq 'Export-AADCloudSyncToolsLogs') {
    # The module prints where it saved the zip; look it up instead of parsing host text.
    $zip = Get-ChildItem -LiteralPath $folder -Filter 'AADCloudProvisioningDiagnostics-*.zip' -File |
        Where-Object { $_.LastWriteTime -ge $started.AddSeconds(-5) } |
        Sort-Object -Property LastWriteTime -Descending |
        Select-Object -First 1
    if (-not $zip) {
        Stop-Here 'PsbridgeCloudSync.ExportNotFound' "Export-AADCloudSyncToolsLogs finished but no new AADCloudProvisioningDiagnostics-*.zip is in $folder on $env:COMPUTERNAME." 'ObjectNotFound'
    }
    [pscustomobject]@{ Path = $zip.FullName; Length = [long]$zip.Length }
    return
}

foreach ($item in $output) {
    if ($null -eq $item) {
        continue
    }
    if ($Function -eq 'Get-AADCloudSyncToolsInfo') {
        $item = Hide-Tokens $item
    }
    if ($jsonOutput -contains $Function) {
        ConvertTo-Json -InputObject $item -Depth 64 -Compress
    }
    else {
        ConvertTo-Flat $item
    }
}
