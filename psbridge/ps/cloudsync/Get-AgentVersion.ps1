# Reads the Microsoft Entra provisioning agent's installation on this host (docs/cloudsync.md,
# "Provisioning agent"): the agent's registry key, and the file version of its service executable
# (InstallDir\ServiceProcessName). Reads only; does not import AADCloudSyncTools (which prompts with
# Read-Host on a host without the agent). One flat object: Present (the key exists), Version (the
# executable's FileVersion, $null when unknown), ServiceName, InstallDir, ServiceProcessName.
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$agentKey = 'HKLM:\SOFTWARE\Microsoft\Azure AD Connect Agents\Azure AD Connect Provisioning Agent'
$agent = Get-ItemProperty -LiteralPath $agentKey -ErrorAction SilentlyContinue
$version = $null
if ($agent -and $agent.InstallDir -and $agent.ServiceProcessName) {
    $exe = Join-Path -Path $agent.InstallDir -ChildPath $agent.ServiceProcessName
    if (Test-Path -LiteralPath $exe) {
        $version = [string](Get-Item -LiteralPath $exe).VersionInfo.FileVersion
    }
}

[pscustomobject]@{
    Present            = [bool]$agent
    Version            = $version
    ServiceName        = if ($agent) { [string]$agent.ServiceName } else { $null }
    InstallDir         = if ($agent) { [string]$agent.InstallDir } else { $null }
    ServiceProcessName = if ($agent) { [string]$agent.ServiceProcessName } else { $null }
}
