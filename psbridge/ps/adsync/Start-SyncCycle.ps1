# Starts an Entra Connect sync cycle the way adsync.md section 5 recommends: reads the scheduler
# first and returns one flat object saying whether the cycle started and, if not, why
# (SyncCycleDisabled, SchedulerSuspended or InProgress). A "Connector: <name> is busy." error from
# Start-ADSyncSyncCycle is not caught: it reaches psbridge as an error record, which raises
# ConnectorBusyError with the connector's name.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][ValidateSet('Delta', 'Initial')][string]$PolicyType
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

$scheduler = Get-ADSyncScheduler
$names = @($scheduler.PSObject.Properties.Name)

$reason = $null
if (-not $scheduler.SyncCycleEnabled) {
    $reason = 'SyncCycleDisabled'
}
elseif ($names -contains 'SchedulerSuspended' -and $scheduler.SchedulerSuspended) {
    $reason = 'SchedulerSuspended'
}
elseif ($names -contains 'SyncCycleInProgress' -and $scheduler.SyncCycleInProgress) {
    $reason = 'InProgress'
}

$result = $null
if ($null -eq $reason) {
    $status = Start-ADSyncSyncCycle -PolicyType $PolicyType -ErrorAction Stop
    $result = [string]$status.Result
}

[pscustomobject]@{
    Started                     = ($result -eq 'Success')
    Reason                      = $reason
    Result                      = $result
    PolicyType                  = $PolicyType
    StagingModeEnabled          = [bool]$scheduler.StagingModeEnabled
    NextSyncCycleStartTimeInUTC = $scheduler.NextSyncCycleStartTimeInUTC
}
