# Removes the zip that Export-ServerConfiguration.ps1 -Compress wrote, once psbridge has fetched it.
# The export folder it was packed from stays: that is the export the caller asked for under -Path.
# Refuses any other file: the name must be psbridge-adsync-export-*.zip, directly in the temp folder,
# given as an absolute path (a relative one is refused rather than resolved against a working
# directory nobody chose); both sides are resolved with PowerShell's provider path API.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Path
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

if (-not [System.IO.Path]::IsPathRooted($Path)) {
    throw ('refusing to remove {0}: not an absolute path' -f $Path)
}
$provider = $ExecutionContext.SessionState.Path
$full = $provider.GetUnresolvedProviderPathFromPSPath($Path)
$folder = [System.IO.Path]::GetDirectoryName($full).TrimEnd('\')
$temp = $provider.GetUnresolvedProviderPathFromPSPath([System.IO.Path]::GetTempPath()).TrimEnd('\')
$leaf = [System.IO.Path]::GetFileName($full)
if ($folder -ne $temp -or $leaf -notlike 'psbridge-adsync-export-*.zip') {
    throw ('refusing to remove {0}: not an archive psbridge exported' -f $full)
}
Remove-Item -LiteralPath $full -Force
