# Projects Get-ADSyncRunProfileResult -RunStepDetails to flat objects, newest run first. The cmdlet
# fills RunStepResults only when -RunStepDetails is given, so it always is here (the switch:
# https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-adsync#get-adsyncrunprofileresult;
# the RunStepResult properties: the -RunStepDetails output in github.com/sean-m/laparoscope,
# scripts/Laparoscope.psm1, Get-LapRunProfileResult's example).
# Each run is one Kind='Run' object, followed by one Kind='Step' object per RunStepResult, which names
# its run's RunHistoryId. A run whose RunStepResults is $null has no Step objects: nothing here wraps
# that $null in @(), which would make one empty step of it.
# A step carries its identity, dates and result; every Int32 counter it has, under the RunStepResult
# property's own name (a counter a build lacks is left out, never sent as 0); the export batch numbers;
# the connection information XML; and how many sync, discovery and metaverse-retry errors it lists
# ($null when the step has no such list).
[CmdletBinding()]
param(
    [int]$NumberRequested = 10,
    [guid]$ConnectorId
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

# RunStepResult's counters, as Get-ADSyncRunProfileResult -RunStepDetails returns them.
$counters = @(
    'StageNoChange', 'StageAdd', 'StageUpdate', 'StageRename', 'StageDelete', 'StageDeleteAdd', 'StageFailure',
    'DisconnectorFiltered', 'DisconnectorJoinedNoFlow', 'DisconnectorJoinedFlow', 'DisconnectorJoinedRemoveMv',
    'DisconnectorProjectedNoFlow', 'DisconnectorProjectedFlow', 'DisconnectorProjectedRemoveMv', 'DisconnectorRemains',
    'ConnectorFilteredRemoveMv', 'ConnectorFilteredLeaveMv', 'ConnectorFlow', 'ConnectorFlowRemoveMv',
    'ConnectorNoFlow', 'ConnectorDeleteRemoveMv', 'ConnectorDeleteLeaveMv', 'ConnectorDeleteAddProcessed',
    'FlowFailure',
    'ExportAdd', 'ExportUpdate', 'ExportRename', 'ExportDelete', 'ExportDeleteAdd', 'ExportFailure'
)

function Get-ListCount {
    # How many entries a step's error container lists; $null when the container or its list is absent.
    param($Container, [string]$ListName)
    if ($null -eq $Container) {
        return $null
    }
    $list = $Container.$ListName
    if ($null -eq $list) {
        return $null
    }
    $count = 0
    foreach ($entry in $list) {
        $count++
    }
    $count
}

$query = @{ NumberRequested = $NumberRequested; RunStepDetails = $true }
if ($PSBoundParameters.ContainsKey('ConnectorId')) {
    $query['ConnectorId'] = $ConnectorId
}

$runs = Get-ADSyncRunProfileResult @query -ErrorAction Stop
foreach ($run in $runs) {
    [pscustomobject]@{
        Kind              = 'Run'
        RunHistoryId      = [guid]$run.RunHistoryId
        ConnectorId       = [guid]$run.ConnectorId
        ConnectorName     = [string]$run.ConnectorName
        RunProfileId      = [guid]$run.RunProfileId
        RunProfileName    = [string]$run.RunProfileName
        RunNumber         = [int]$run.RunNumber
        Username          = [string]$run.Username
        IsRunComplete     = $run.IsRunComplete
        Result            = [string]$run.Result
        CurrentStepNumber = [int]$run.CurrentStepNumber
        TotalSteps        = [int]$run.TotalSteps
        StartDate         = $run.StartDate
        EndDate           = $run.EndDate
    }
    if ($null -ne $run.RunStepResults) {
        foreach ($step in $run.RunStepResults) {
            $row = [ordered]@{
                Kind          = 'Step'
                RunHistoryId  = [guid]$run.RunHistoryId
                StepHistoryId = $step.StepHistoryId
                StepNumber    = [int]$step.StepNumber
                StepResult    = [string]$step.StepResult
                StartDate     = $step.StartDate
                EndDate       = $step.EndDate
            }
            foreach ($name in $counters) {
                if ($null -ne $step.PSObject.Properties[$name]) {
                    $row[$name] = [int]$step.$name
                }
            }
            $row['CurrentExportBatchNumber'] = [int]$step.CurrentExportBatchNumber
            $row['LastSuccessfulExportBatchNumber'] = [int]$step.LastSuccessfulExportBatchNumber
            $connection = $step.ConnectorConnectionInformationXml
            if ($null -ne $connection) {
                $connection = [string]$connection
            }
            $row['ConnectorConnectionInformationXml'] = $connection
            $row['SyncErrorCount'] = Get-ListCount -Container $step.SyncErrors -ListName 'SyncErrorsList'
            $row['DiscoveryErrorCount'] = Get-ListCount -Container $step.ConnectorDiscoveryErrors -ListName 'ConnectorDiscoveryErrorsList'
            $row['MvRetryErrorCount'] = Get-ListCount -Container $step.MvRetryErrors -ListName 'MvRetryErrorsList'
            [pscustomobject]$row
        }
    }
}
