# Projects Get-ADSyncConnector to flat rows and sends them as ONE compact JSON string: psbridge validates it
# straight into its models, with no CLIXML to decode per row (docs/adsync.md, "Connectors and run history").
# Partitions are nested in the Connector object and would lose depth over remoting, so each connector's row
# carries its partitions as rows of their own, each naming its connector's Identifier.
#
# The page, in the form of exchange/Invoke-ExchangeCommand.ps1's pages (psbridge.pages.Page), sent whole:
#   {"cursor":null,"total":2,"remaining":0,"rows":[{"Identifier":"6f1e6f0c-...","Name":"contoso.example",
#    "ConnectorTypeName":"AD","Subtype":"","Description":"","CreationTime":"2024-03-12T09:15:41.0000000Z",
#    "LastModificationTime":"2026-10-30T08:02:17.0000000Z","Partitions":[{"ConnectorIdentifier":"6f1e6f0c-...",
#    "Identifier":"1d7c3e52-...","Name":"DC=contoso,DC=example","DN":"DC=contoso,DC=example","Selected":true,
#    "IsDomain":true,"ContainerInclusionList":["OU=Sales,DC=contoso,DC=example"],"ContainerExclusionList":[]}]}]}
# GUIDs as text (ToString(): ConvertTo-Json writes a Guid that carries PowerShell's extended Guid property as
# an object, {"value":...,"Guid":...}: https://github.com/PowerShell/PowerShell/issues/26635), text fields cast
# to [string] (ConnectorTypeName too: 5.1 writes an enum as its number, see Get-RunProfileResult.ps1), times as
# ConvertTo-IsoText says. Partitions is always an array: empty when the connector's Partitions is $null (never @($null), which
# would make one empty partition of it). Selected and IsDomain are sent as the live bools, not cast: a cast
# would turn a missing value into False.
# Each partition's ConnectorPartitionScope (Connect's OU filter: ContainerInclusionList and
# ContainerExclusionList, lists of container DNs, known from Laparoscope's model, third-party) is sent as
# two arrays of text; both are null when the partition has no scope object (the build does not say).
# ConvertTo-Json gets the page with -InputObject (the pipeline would unroll a one-row array), -Compress, and
# -Depth 8: a partition's container lists sit at depth 5 (page, rows, connector, Partitions, partition), and
# the default -Depth is 2 (https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertto-json?view=powershell-5.1).
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

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

function ConvertTo-PartitionRow($Connector, $Partition) {
    $inclusions = $null
    $exclusions = $null
    $scope = $Partition.ConnectorPartitionScope
    if ($null -ne $scope) {
        # foreach over $null runs no iteration, so an empty or missing list becomes an empty array.
        $inclusions = [object[]]@(foreach ($dn in $scope.ContainerInclusionList) { [string]$dn })
        $exclusions = [object[]]@(foreach ($dn in $scope.ContainerExclusionList) { [string]$dn })
    }
    [ordered]@{
        ConnectorIdentifier    = ConvertTo-GuidText $Connector.Identifier
        Identifier             = ConvertTo-GuidText $Partition.Identifier
        Name                   = [string]$Partition.Name
        DN                     = [string]$Partition.DN
        Selected               = $Partition.Selected
        IsDomain               = $Partition.IsDomain
        ContainerInclusionList = $inclusions
        ContainerExclusionList = $exclusions
    }
}

$rows = New-Object -TypeName 'System.Collections.Generic.List[object]'
foreach ($connector in @(Get-ADSyncConnector)) {
    $partitions = New-Object -TypeName 'System.Collections.Generic.List[object]'
    if ($null -ne $connector.Partitions) {
        foreach ($partition in $connector.Partitions) {
            $partitions.Add((ConvertTo-PartitionRow -Connector $connector -Partition $partition))
        }
    }
    $rows.Add([ordered]@{
        Identifier           = ConvertTo-GuidText $connector.Identifier
        Name                 = [string]$connector.Name
        ConnectorTypeName    = [string]$connector.ConnectorTypeName
        Subtype              = [string]$connector.Subtype
        Description          = [string]$connector.Description
        CreationTime         = ConvertTo-IsoText $connector.CreationTime
        LastModificationTime = ConvertTo-IsoText $connector.LastModificationTime
        Partitions           = $partitions.ToArray()
    })
}

$page = [ordered]@{
    cursor    = $null
    total     = $rows.Count
    remaining = 0
    rows      = $rows.ToArray()
}
ConvertTo-Json -InputObject $page -Compress -Depth 8
