# Projects Get-ADSyncScheduler to one flat object on the Entra Connect server (the scheduler's settings:
# https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler). Enums
# are cast to string here; TimeSpan, DateTime and bool values cross remoting as they are (never cast to
# [bool], which would turn a missing value into False). 1.1.x builds lack SchedulerSuspended and
# SyncCycleInProgress: those are $null when absent.
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

$scheduler = Get-ADSyncScheduler

$policy = $null
if ($null -ne $scheduler.NextSyncCyclePolicyType) {
    $policy = [string]$scheduler.NextSyncCyclePolicyType
}
$suspended = $null
if ($null -ne $scheduler.PSObject.Properties['SchedulerSuspended']) {
    $suspended = $scheduler.SchedulerSuspended
}
$inProgress = $null
if ($null -ne $scheduler.PSObject.Properties['SyncCycleInProgress']) {
    $inProgress = $scheduler.SyncCycleInProgress
}

[pscustomobject]@{
    AllowedSyncCycleInterval            = $scheduler.AllowedSyncCycleInterval
    CurrentlyEffectiveSyncCycleInterval = $scheduler.CurrentlyEffectiveSyncCycleInterval
    CustomizedSyncCycleInterval         = $scheduler.CustomizedSyncCycleInterval
    NextSyncCyclePolicyType             = $policy
    NextSyncCycleStartTimeInUTC         = $scheduler.NextSyncCycleStartTimeInUTC
    PurgeRunHistoryInterval             = $scheduler.PurgeRunHistoryInterval
    SyncCycleEnabled                    = $scheduler.SyncCycleEnabled
    MaintenanceEnabled                  = $scheduler.MaintenanceEnabled
    StagingModeEnabled                  = $scheduler.StagingModeEnabled
    SchedulerSuspended                  = $suspended
    SyncCycleInProgress                 = $inProgress
}
