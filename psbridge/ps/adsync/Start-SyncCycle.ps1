# Starts an Entra Connect sync cycle in psbridge's start sequence (docs/adsync.md, "Sync cycle"): reads
# the scheduler first and returns one flat object saying whether the cycle started and, if not, why
# (SyncCycleDisabled, SchedulerSuspended or InProgress). A "Connector: <name> is busy." error from
# Start-ADSyncSyncCycle is not caught: it reaches psbridge as an error record, which raises
# ConnectorBusyError with the connector's name. The scheduler's flags are compared with -eq $true (a
# bool, or its text 'True'), never cast or tested for truthiness: the text 'False' is truthy.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][ValidateSet('Delta', 'Initial')][string]$PolicyType
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

$scheduler = Get-ADSyncScheduler

$reason = $null
if (-not ($scheduler.SyncCycleEnabled -eq $true)) {
    $reason = 'SyncCycleDisabled'
}
elseif ($scheduler.SchedulerSuspended -eq $true) {
    $reason = 'SchedulerSuspended'
}
elseif ($scheduler.SyncCycleInProgress -eq $true) {
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
    StagingModeEnabled          = $scheduler.StagingModeEnabled
    NextSyncCycleStartTimeInUTC = $scheduler.NextSyncCycleStartTimeInUTC
}
