# Projects Get-ADSyncConnector to flat objects (docs/adsync.md, "Connectors and run history"). Partitions
# are nested in the Connector object and lose depth over remoting, so each connector is one
# Kind='Connector' object, followed by one Kind='Partition' object per partition, which names its
# connector's Identifier. A connector whose Partitions is $null has no Partition objects (never @($null),
# which would make one empty partition of it). Selected and IsDomain are sent as the live bools, not
# cast: a cast would turn a missing value into False.
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
        [pscustomobject]@{
            Kind                = 'Partition'
            ConnectorIdentifier = [guid]$connector.Identifier
            Identifier          = [guid]$partition.Identifier
            Name                = [string]$partition.Name
            DN                  = [string]$partition.DN
            Selected            = $partition.Selected
            IsDomain            = $partition.IsDomain
        }
    }
}
