# Removes a zip that Export-ServerConfiguration.ps1 -Compress wrote, once psbridge has fetched it.
# Refuses any other file: the name must be psbridge-adsync-export-*.zip, directly in the temp folder.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Path
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$full = [System.IO.Path]::GetFullPath($Path)
$folder = [System.IO.Path]::GetDirectoryName($full).TrimEnd('\')
$temp = [System.IO.Path]::GetFullPath([System.IO.Path]::GetTempPath()).TrimEnd('\')
$leaf = [System.IO.Path]::GetFileName($full)
if ($folder -ne $temp -or $leaf -notlike 'psbridge-adsync-export-*.zip') {
    throw ('refusing to remove {0}: not an archive psbridge exported' -f $full)
}
Remove-Item -LiteralPath $full -Force
