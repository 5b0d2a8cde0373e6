# Changes Entra Connect scheduler settings with Set-ADSyncScheduler (which settings may be changed:
# https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler).
# psbridge reads the scheduler first and binds only the settings that differ; each one bound here is
# passed on unchanged. SchedulerSuspended and staging mode are deliberately not offered: Microsoft does
# not support changing them from automation. A changed interval writes a warning, which psbridge logs.
[CmdletBinding()]
param(
    [Nullable[bool]]$SyncCycleEnabled,
    [Nullable[timespan]]$CustomizedSyncCycleInterval,
    [ValidateSet('Delta', 'Initial')][string]$NextSyncCyclePolicyType,
    [Nullable[timespan]]$PurgeRunHistoryInterval,
    [Nullable[bool]]$MaintenanceEnabled
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

$settings = @{}
$settable = 'SyncCycleEnabled', 'CustomizedSyncCycleInterval', 'NextSyncCyclePolicyType', 'PurgeRunHistoryInterval', 'MaintenanceEnabled'
foreach ($name in $settable) {
    if ($PSBoundParameters.ContainsKey($name)) {
        $settings[$name] = $PSBoundParameters[$name]
    }
}
if ($settings.Count -eq 0) {
    throw 'Set-Scheduler.ps1 was given no setting to change'
}
Set-ADSyncScheduler @settings -ErrorAction Stop
