# Projects Get-ADSyncConnector to flat objects (docs/adsync.md, "Connectors and run history"). Partitions
# are nested in the Connector object and lose depth over remoting, so each connector is one
# Kind='Connector' object, followed by one Kind='Partition' object per partition, which names its
# connector's Identifier. A connector whose Partitions is $null has no Partition objects (never @($null),
# which would make one empty partition of it). Selected and IsDomain are sent as the live bools, not
# cast: a cast would turn a missing value into False.
# Each partition's ConnectorPartitionScope (Connect's OU filter: ContainerInclusionList and
# ContainerExclusionList, lists of container DNs, known from Laparoscope's model, third-party) is sent as
# two string arrays; both are $null when the partition has no scope object (the build does not say).
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

foreach ($connector in @(Get-ADSyncConnector)) {
    [pscustomobject]@{
        Kind                 = 'Connector'
        Identifier           = [guid]$connector.Identifier
        Name                 = [string]$connector.Name
        ConnectorTypeName    = [string]$connector.ConnectorTypeName
        Subtype              = [string]$connector.Subtype
        Description          = [string]$connector.Description
        CreationTime         = $connector.CreationTime
        LastModificationTime = $connector.LastModificationTime
    }
    if ($null -eq $connector.Partitions) {
        continue
    }
    foreach ($partition in $connector.Partitions) {
        $inclusions = $null
        $exclusions = $null
        $scope = $partition.ConnectorPartitionScope
        if ($null -ne $scope) {
            # foreach over $null runs no iteration, so an empty or missing list becomes an empty array.
            $inclusions = [string[]]@(foreach ($dn in $scope.ContainerInclusionList) { [string]$dn })
            $exclusions = [string[]]@(foreach ($dn in $scope.ContainerExclusionList) { [string]$dn })
        }
        [pscustomobject]@{
            Kind                   = 'Partition'
            ConnectorIdentifier    = [guid]$connector.Identifier
            Identifier             = [guid]$partition.Identifier
            Name                   = [string]$partition.Name
            DN                     = [string]$partition.DN
            Selected               = $partition.Selected
            IsDomain               = $partition.IsDomain
            ContainerInclusionList = $inclusions
            ContainerExclusionList = $exclusions
        }
    }
}
