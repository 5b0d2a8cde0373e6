# Exports the sync server's configuration with Get-ADSyncServerConfiguration into a fresh folder,
# psbridge-adsync-export-<32 hex>, created under -Path, so that files already in -Path are never taken
# for this export. -Path is resolved with PowerShell's provider path API before anything uses it: a
# relative path is relative to the session's current location ($PWD), for New-Item and for the cmdlet
# alike (a .NET or module call would resolve it against the process's working directory instead).
# With -Compress, the fresh folder is also packed into psbridge-adsync-export-<same hex>.zip in the
# temp folder for psbridge to fetch and then remove with Remove-ExportArchive.ps1 (the export folder
# stays: it is the export asked for). The zip is written with System.IO.Compression, entries named by their path
# relative to the export folder with '/' separators (Windows PowerShell 5.1's Compress-Archive writes
# '\', which other systems extract as file names containing backslashes).
# Returns one flat object: the export folder, its file count and size, and the zip (or $null).
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Path,
    [switch]$Compress
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module -Name ADSync -ErrorAction Stop

$parent = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
$name = 'psbridge-adsync-export-' + [guid]::NewGuid().ToString('N')
$folder = Join-Path -Path $parent -ChildPath $name
# New-Item fails if the folder exists, so the export always starts empty; -Force only creates -Path itself.
$null = New-Item -ItemType Directory -Path $parent -Force
$null = New-Item -ItemType Directory -Path $folder
$null = Get-ADSyncServerConfiguration -Path $folder

$files = @(Get-ChildItem -LiteralPath $folder -Recurse -File)
$bytes = [long]0
foreach ($file in $files) {
    $bytes += $file.Length
}

$zip = $null
$zipSize = $null
if ($Compress) {
    Add-Type -AssemblyName 'System.IO.Compression', 'System.IO.Compression.FileSystem'
    $zip = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ($name + '.zip')
    $archive = [System.IO.Compression.ZipFile]::Open($zip, [System.IO.Compression.ZipArchiveMode]::Create)
    try {
        foreach ($file in $files) {
            $entry = $file.FullName.Substring($folder.Length).TrimStart('\', '/').Replace('\', '/')
            $null = [System.IO.Compression.ZipFileExtensions]::CreateEntryFromFile(
                $archive, $file.FullName, $entry, [System.IO.Compression.CompressionLevel]::Optimal)
        }
    }
    finally {
        $archive.Dispose()
    }
    $zipSize = [long](Get-Item -LiteralPath $zip).Length
}

[pscustomobject]@{
    Path      = $folder
    FileCount = $files.Count
    Bytes     = $bytes
    ZipPath   = $zip
    ZipSize   = $zipSize
}
