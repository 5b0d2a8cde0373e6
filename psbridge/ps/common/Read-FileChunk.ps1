# Reads one chunk of a file on the remote host as base64, for psbridge.files.fetch.
# The last chunk also carries the SHA-256 of the whole file, so the copy can be verified.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Path,
    [long]$Offset = 0,
    [int]$Length = 1048576
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$item = Get-Item -LiteralPath $Path
$stream = [System.IO.File]::OpenRead($item.FullName)
try {
    $null = $stream.Seek($Offset, [System.IO.SeekOrigin]::Begin)
    $buffer = New-Object -TypeName byte[] -ArgumentList $Length
    $read = $stream.Read($buffer, 0, $Length)
}
finally {
    $stream.Dispose()
}

$hash = $null
if ($Offset + $read -ge $item.Length) {
    $hash = (Get-FileHash -LiteralPath $item.FullName -Algorithm SHA256).Hash
}
[pscustomobject]@{
    Length = [long]$item.Length
    Offset = [long]$Offset
    Data   = [System.Convert]::ToBase64String($buffer, 0, $read)
    Sha256 = $hash
}
