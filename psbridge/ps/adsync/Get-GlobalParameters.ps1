# Projects Get-ADSyncGlobalSettings to flat objects on the Entra Connect server.
# Nested ADSync collections lose their values over remoting, so each ConfigurationParameter is
# turned into a plain object here, with Value kept as the string the server stores.
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

$settings = Get-ADSyncGlobalSettings
foreach ($parameter in $settings.Parameters) {
    [pscustomobject]@{
        Name     = [string]$parameter.Name
        Value    = [string]$parameter.Value
        DataType = [string]$parameter.DataType
        Scope    = [string]$parameter.Scope
    }
}
