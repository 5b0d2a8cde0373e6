# Projects Get-ADSyncRunProfileResult to flat objects (adsync.md section 7), newest run first.
# Each run is one Kind='Run' object, followed by one Kind='Step' object per RunStepResult, which
# names its run's RunHistoryId. A step carries StepNumber, StepResult and every integer counter
# (Stage*, Disconnector*, Connector*, Flow*, Export*) under its own name.
[CmdletBinding()]
param(
    [int]$NumberRequested = 10,
    [guid]$ConnectorId
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

$query = @{ NumberRequested = $NumberRequested }
if ($PSBoundParameters.ContainsKey('ConnectorId')) {
    $query['ConnectorId'] = $ConnectorId
}

foreach ($run in @(Get-ADSyncRunProfileResult @query)) {
    [pscustomobject]@{
        Kind              = 'Run'
        RunHistoryId      = [guid]$run.RunHistoryId
        ConnectorId       = [guid]$run.ConnectorId
        ConnectorName     = [string]$run.ConnectorName
        RunProfileId      = [guid]$run.RunProfileId
        RunProfileName    = [string]$run.RunProfileName
        RunNumber         = [int]$run.RunNumber
        Username          = [string]$run.Username
        IsRunComplete     = [bool]$run.IsRunComplete
        Result            = [string]$run.Result
        CurrentStepNumber = [int]$run.CurrentStepNumber
        TotalSteps        = [int]$run.TotalSteps
        StartDate         = $run.StartDate
        EndDate           = $run.EndDate
    }
    foreach ($step in @($run.RunStepResults)) {
        $row = [ordered]@{
            Kind         = 'Step'
            RunHistoryId = [guid]$run.RunHistoryId
            StepNumber   = [int]$step.StepNumber
            StepResult   = [string]$step.StepResult
        }
        foreach ($property in $step.PSObject.Properties) {
            $value = $property.Value
            if ($property.Name -match '^(Stage|Disconnector|Connector|Flow|Export)' -and ($value -is [int] -or $value -is [long])) {
                $row[$property.Name] = [long]$value
            }
        }
        [pscustomobject]$row
    }
}
