# Projects Get-ADSyncConnectorRunStatus to flat objects (docs/adsync.md, "Connectors and run history"):
# one per running connector, with RunState cast to string. Nothing at all when the sync engine is idle.
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
