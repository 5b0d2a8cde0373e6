# Projects Get-ADSyncScheduler to one flat object on the Entra Connect server (adsync.md section 4.1).
# Enums are cast to string here; TimeSpan, DateTime and bool values cross remoting as they are.
# 1.1.x builds lack SchedulerSuspended and SyncCycleInProgress: those are $null when absent.
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

$scheduler = Get-ADSyncScheduler
$names = @($scheduler.PSObject.Properties.Name)

$policy = $null
if ($null -ne $scheduler.NextSyncCyclePolicyType) {
    $policy = [string]$scheduler.NextSyncCyclePolicyType
}
$suspended = $null
if ($names -contains 'SchedulerSuspended') {
    $suspended = [bool]$scheduler.SchedulerSuspended
}
$inProgress = $null
if ($names -contains 'SyncCycleInProgress') {
    $inProgress = [bool]$scheduler.SyncCycleInProgress
}

[pscustomobject]@{
    AllowedSyncCycleInterval            = $scheduler.AllowedSyncCycleInterval
    CurrentlyEffectiveSyncCycleInterval = $scheduler.CurrentlyEffectiveSyncCycleInterval
    CustomizedSyncCycleInterval         = $scheduler.CustomizedSyncCycleInterval
    NextSyncCyclePolicyType             = $policy
    NextSyncCycleStartTimeInUTC         = $scheduler.NextSyncCycleStartTimeInUTC
    PurgeRunHistoryInterval             = $scheduler.PurgeRunHistoryInterval
    SyncCycleEnabled                    = [bool]$scheduler.SyncCycleEnabled
    MaintenanceEnabled                  = [bool]$scheduler.MaintenanceEnabled
    StagingModeEnabled                  = [bool]$scheduler.StagingModeEnabled
    SchedulerSuspended                  = $suspended
    SyncCycleInProgress                 = $inProgress
}
