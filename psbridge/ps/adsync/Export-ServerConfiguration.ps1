# Exports the sync server's configuration with Get-ADSyncServerConfiguration -Path, and with
# -Compress also packs the folder into a new zip in the temp folder for psbridge to fetch (and then
# remove with Remove-ExportArchive.ps1). Returns one flat object describing what was written.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Path,
    [switch]$Compress
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

$null = Get-ADSyncServerConfiguration -Path $Path
$folder = (Get-Item -LiteralPath $Path).FullName
$files = @(Get-ChildItem -LiteralPath $folder -Recurse -File)
$bytes = [long]($files | Measure-Object -Property Length -Sum).Sum

$zip = $null
$zipSize = $null
if ($Compress) {
    $name = 'psbridge-adsync-export-' + [guid]::NewGuid().ToString('N') + '.zip'
    $zip = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath $name
    Compress-Archive -LiteralPath $folder -DestinationPath $zip
    $zipSize = [long](Get-Item -LiteralPath $zip).Length
}

[pscustomobject]@{
    Path      = $folder
    FileCount = $files.Count
    Bytes     = $bytes
    ZipPath   = $zip
    ZipSize   = $zipSize
}
