# Projects Get-ADSyncConnectorRunStatus to flat objects (adsync.md section 6): one per running
# connector, with RunState cast to string. Nothing at all when the sync engine is idle.
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

foreach ($status in @(Get-ADSyncConnectorRunStatus)) {
    [pscustomobject]@{
        ConnectorName = [string]$status.ConnectorName
        RunState      = [string]$status.RunState
    }
}
