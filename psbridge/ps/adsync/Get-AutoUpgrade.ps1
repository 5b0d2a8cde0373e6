# Reads the auto-upgrade state with Get-ADSyncAutoUpgrade, cast to string (states and suspension reasons:
# https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-automatic-upgrade).
# With -Detail, also the suspension reason: the -Detail output's *Reason* property when it has one, else
# the global setting Microsoft.OptionalFeature.AutoUpgradeSuspensionReason.
[CmdletBinding()]
param(
    [switch]$Detail
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

$raw = Get-ADSyncAutoUpgrade
if ($null -ne $raw -and $null -ne $raw.PSObject.Properties['State']) {
    $raw = $raw.State
}
$reason = $null
if ($Detail) {
    $detailed = Get-ADSyncAutoUpgrade -Detail
    $reasonProperty = $detailed.PSObject.Properties | Where-Object { $_.Name -like '*Reason*' } | Select-Object -First 1
    if ($null -ne $reasonProperty) {
        $reason = [string]$reasonProperty.Value
    }
    else {
        $setting = (Get-ADSyncGlobalSettings).Parameters['Microsoft.OptionalFeature.AutoUpgradeSuspensionReason']
        if ($null -ne $setting) {
            $reason = [string]$setting.Value
        }
    }
    if ($reason -eq '') {
        $reason = $null
    }
}

[pscustomobject]@{
    State            = [string]$raw
    SuspensionReason = $reason
}
