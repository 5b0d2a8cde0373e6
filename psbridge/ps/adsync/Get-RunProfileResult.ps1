# Projects Get-ADSyncRunProfileResult -RunStepDetails to flat rows, newest run first, and sends them as ONE
# compact JSON string: psbridge validates it straight into its models, with no CLIXML to decode per row
# (docs/adsync.md, "Connectors and run history"). The cmdlet fills RunStepResults only when -RunStepDetails
# is given, so it always is here (the switch:
# https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-adsync#get-adsyncrunprofileresult;
# the RunStepResult properties: the -RunStepDetails output in github.com/sean-m/laparoscope,
# scripts/Laparoscope.psm1, Get-LapRunProfileResult's example).
#
# The page, in the form of exchange/Invoke-ExchangeCommand.ps1's pages (psbridge.pages.Page), sent whole:
#   {"cursor":null,"total":2,"remaining":0,"rows":[{"RunHistoryId":"9d3c4812-...","ConnectorId":"b891884f-...",
#    "ConnectorName":"contoso.onmicrosoft.com - AAD",...,"Result":"success",...,
#    "StartDate":"2026-11-25T12:01:09.0000000","EndDate":"2026-11-25T12:01:13.0000000",
#    "RunStepResults":[{"RunHistoryId":"9d3c4812-...","StepHistoryId":"5e7a4812-...","StepNumber":1,
#    "StepResult":"success",...,"ExportAdd":1,...,"SyncErrorCount":null}]}]}
# A run's row: its GUIDs as text (ToString(): ConvertTo-Json writes a Guid that carries PowerShell's extended
# Guid property as an object, {"value":...,"Guid":...}: https://github.com/PowerShell/PowerShell/issues/26635),
# its text fields and its enums cast to [string] (ConvertTo-Json writes an enum as its number unless
# -EnumsAsStrings, which 5.1 lacks: https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertto-json),
# RunNumber and the step counts as Int32 numbers, IsRunComplete as the cmdlet's bool, its dates as
# ConvertTo-IsoText says, and RunStepResults: one step row per RunStepResult, always an array (empty when
# RunStepResults is $null: nothing here wraps that $null in @(), which would make one empty step of it). A step row names its run's
# RunHistoryId and carries its identity, dates and result; every Int32 counter it has, under the
# RunStepResult property's own name (a counter a build lacks is left out, never sent as 0); the export batch
# numbers; the connection information XML; and how many sync, discovery and metaverse-retry errors it lists
# (null when the step has no such list).
# ConvertTo-Json gets the page with -InputObject (the pipeline would unroll a one-row array), -Compress, and
# -Depth 8: a step's fields sit at depth 5 (page, rows, run, RunStepResults, step), and the default -Depth
# is 2 (https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertto-json?view=powershell-5.1).
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

function ConvertTo-IsoText($Value) {
    # A time as ISO 8601 text with the zone the object holds: ToString('o'), the round-trip format, writes a
    # Utc DateTime with Z, a Local one with its offset, and one of Kind Unspecified (a time stored without a
    # zone) without any, never relabelled; a DateTimeOffset with its offset
    # (https://learn.microsoft.com/dotnet/standard/base-types/standard-date-and-time-format-strings#the-round-trip-o-o-format-specifier).
    # psbridge reads a time without an offset as UTC, as it reads the same time in CLIXML. Left to
    # ConvertTo-Json, 5.1 would write "\/Date(ms)\/" and lose the zone. Anything else goes as text, for
    # psbridge's model to read or refuse.
    if ($null -eq $Value) { return $null }
    if ($Value -is [datetime] -or $Value -is [System.DateTimeOffset]) {
        return $Value.ToString('o', [System.Globalization.CultureInfo]::InvariantCulture)
    }
    [string]$Value
}

function ConvertTo-GuidText($Value) {
    if ($null -eq $Value) { return $null }
    ([guid]$Value).ToString()
}

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

function ConvertTo-StepRow($Run, $Step) {
    $row = [ordered]@{
        RunHistoryId  = ConvertTo-GuidText $Run.RunHistoryId
        StepHistoryId = ConvertTo-GuidText $Step.StepHistoryId
        StepNumber    = [int]$Step.StepNumber
        StepResult    = [string]$Step.StepResult
        StartDate     = ConvertTo-IsoText $Step.StartDate
        EndDate       = ConvertTo-IsoText $Step.EndDate
    }
    foreach ($name in $counters) {
        if ($null -ne $Step.PSObject.Properties[$name]) {
            $row[$name] = [int]$Step.$name
        }
    }
    $row['CurrentExportBatchNumber'] = [int]$Step.CurrentExportBatchNumber
    $row['LastSuccessfulExportBatchNumber'] = [int]$Step.LastSuccessfulExportBatchNumber
    $connection = $Step.ConnectorConnectionInformationXml
    if ($null -ne $connection) {
        $connection = [string]$connection
    }
    $row['ConnectorConnectionInformationXml'] = $connection
    $row['SyncErrorCount'] = Get-ListCount -Container $Step.SyncErrors -ListName 'SyncErrorsList'
    $row['DiscoveryErrorCount'] = Get-ListCount -Container $Step.ConnectorDiscoveryErrors -ListName 'ConnectorDiscoveryErrorsList'
    $row['MvRetryErrorCount'] = Get-ListCount -Container $Step.MvRetryErrors -ListName 'MvRetryErrorsList'
    $row
}

$query = @{ NumberRequested = $NumberRequested; RunStepDetails = $true }
if ($PSBoundParameters.ContainsKey('ConnectorId')) {
    $query['ConnectorId'] = $ConnectorId
}

$rows = New-Object -TypeName 'System.Collections.Generic.List[object]'
$runs = Get-ADSyncRunProfileResult @query -ErrorAction Stop
foreach ($run in $runs) {
    $steps = New-Object -TypeName 'System.Collections.Generic.List[object]'
    if ($null -ne $run.RunStepResults) {
        foreach ($step in $run.RunStepResults) {
            $steps.Add((ConvertTo-StepRow -Run $run -Step $step))
        }
    }
    $rows.Add([ordered]@{
        RunHistoryId      = ConvertTo-GuidText $run.RunHistoryId
        ConnectorId       = ConvertTo-GuidText $run.ConnectorId
        ConnectorName     = [string]$run.ConnectorName
        RunProfileId      = ConvertTo-GuidText $run.RunProfileId
        RunProfileName    = [string]$run.RunProfileName
        RunNumber         = [int]$run.RunNumber
        Username          = [string]$run.Username
        IsRunComplete     = $run.IsRunComplete
        Result            = [string]$run.Result
        CurrentStepNumber = [int]$run.CurrentStepNumber
        TotalSteps        = [int]$run.TotalSteps
        StartDate         = ConvertTo-IsoText $run.StartDate
        EndDate           = ConvertTo-IsoText $run.EndDate
        RunStepResults    = $steps.ToArray()
    })
}

$page = [ordered]@{
    cursor    = $null
    total     = $rows.Count
    remaining = 0
    rows      = $rows.ToArray()
}
ConvertTo-Json -InputObject $page -Compress -Depth 8
