# Runs one Exchange cmdlet for psbridge.exchange on the jump host and projects what it returns to flat
# objects (docs/exchange.md, "Serialization and projection": objects cross two serialization hops, and
# nested values would arrive as ToString() text). Runs in Windows PowerShell 5.1 and PowerShell 7.
#
# Exchange Online: in the runspace where psbridge signed in with Connect-ExchangeOnline. Exchange Server
# through the jump host (-OnPremises): the cmdlets Connect-ExchangeServer.ps1 imported with the prefix
# OnPrem (Get-OnPremMailbox, ...), so they never shadow the Exchange Online cmdlets of the same name.
#
# A Set-* accepts only the parameters listed in $writable (psbridge changes nothing else) and always runs
# with -Confirm:$false: a remote runspace cannot prompt. Python did the confirming.
#
# Paging (-PageSize): the first call runs the cmdlet, projects each object as it arrives (keeping only
# the modelled fields), keeps the rows in this runspace and sends the first page. While a page carries a
# cursor, a call with -Cursor sends the next page; -Release drops a listing the caller left unfinished.
# -IsExchangeCloudManaged filters mailboxes here, with Where-Object semantics: the property is not
# OPATH-filterable (docs/exchange.md, "Mailboxes and recipients").
#
# A page is ONE compact JSON string, not objects: psbridge validates it straight into its models, with no
# CLIXML to decode per row (docs/exchange.md, "Serialization and projection"). Its form:
#   {"cursor":"<32 hex digits>","total":2500,"remaining":1500,"rows":[{"Identity":"Adele Vance",...,
#    "EmailAddresses":["SMTP:adele@contoso.example"],"WhenChanged":"2026-11-20T09:14:02.0000000Z",
#    "IsDirSynced":true,"IsExchangeCloudManaged":null}]}
# cursor: the listing's id, null on its last page; total: the rows the listing holds; remaining: the rows
# after this page. A row has ConvertTo-Row's fields by their PowerShell names: text or null, flags as
# true, false or null, arrays always as arrays (an empty or one-element one too), times as ISO 8601 text
# in UTC with its Z. ConvertTo-Json (-Compress, -Depth 5: a row's arrays sit at depth 3) would otherwise
# write a time as "\/Date(ms)\/" in Windows PowerShell 5.1, losing its zone
# (https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertto-json?view=powershell-5.1),
# and its default -Depth is 2. Calls without -PageSize (reads by identity, Set-*) send objects as before.
#
# Scope: psbridge runs every script in a scope of its own, so this script's preferences, helpers and
# parameters end with the call. The one thing it keeps in the runspace on purpose is the open listings,
# in $global:PsbridgeExchangeListings (a hashtable by cursor; entries leave when read to the end or
# released). The OnPrem cmdlets it calls are global because Connect-ExchangeServer.ps1 made them so.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidateSet(
        'Get-Mailbox',
        'Get-User',
        'Get-OrganizationConfig',
        'Get-AcceptedDomain',
        'Get-RemoteMailbox',
        'Get-MailUser',
        'Set-Mailbox',
        'Set-User',
        'Set-OrganizationConfig'
    )]
    [string]$Command,
    [hashtable]$Arguments = @{},
    [ValidatePattern('^[A-Za-z][A-Za-z0-9]*$')][string[]]$Property = @(),
    [Nullable[bool]]$IsExchangeCloudManaged,
    [ValidateRange(0, 100000)][int]$PageSize = 0,
    [string]$Cursor,
    [switch]$Release,
    [switch]$OnPremises
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$writable = @{
    'Set-Mailbox'            = @('Identity', 'IsExchangeCloudManaged', 'EmailAddresses', 'Alias',
        'HiddenFromAddressListsEnabled') + @(1..15 | ForEach-Object { "CustomAttribute$_" })
    'Set-User'               = @('Identity', 'PermanentlyClearPreviousMailboxInfo')
    'Set-OrganizationConfig' = @('ExchangeAttributesCloudManagedByDefault', 'ExchangeAttributesServerManagedByDefault')
}

function Stop-Here([string]$Id, [string]$Message, [System.Management.Automation.ErrorCategory]$Category) {
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, $Id, $Category, $null
    $PSCmdlet.ThrowTerminatingError($record)
}

function Get-Text($Value) {
    if ($null -eq $Value) { return $null }
    [string]$Value
}

function Get-Texts($Value) {
    # A ProxyAddressCollection or MultiValuedProperty: one string per entry.
    , @($Value | Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ })
}

function Get-Flag($Value) {
    # One rule for a flag read from an object, kept identical in Invoke-ExchangeCommand.ps1 and
    # Set-CloudManagedBatch.ps1 (each script is sent on its own, so they cannot share a file): a bool
    # stays as it is; text is parsed ([bool]'False' would be $true); $null and empty text are $null (not
    # reported), never $false; any other text throws a FormatException.
    if ($null -eq $Value -or $Value -is [bool]) { return $Value }
    $text = ([string]$Value).Trim()
    if ($text -eq '') { return $null }
    [System.Convert]::ToBoolean($text)
}

function Get-Scalar($Value) {
    if ($null -eq $Value -or $Value -is [bool] -or $Value -is [string]) { return $Value }
    if ($Value -is [System.Collections.IEnumerable]) { return , (Get-Texts $Value) }
    [string]$Value
}

function ConvertTo-Utc($Value, [switch]$NamedUtc) {
    # Converts to UTC; never relabels a time that carries a zone. DateTime.SpecifyKind keeps the ticks and
    # only changes the label (https://learn.microsoft.com/dotnet/api/system.datetime.specifykind), so a
    # Local DateTime, or text ending in Z or an offset, would come out off by the host's offset.
    # ToUniversalTime converts a Local time and leaves a Utc one alone
    # (https://learn.microsoft.com/dotnet/api/system.datetime.touniversaltime); text is parsed with
    # AdjustToUniversal, which converts a time whose text names its zone (AssumeUniversal: text without a
    # zone is UTC) (https://learn.microsoft.com/dotnet/api/system.globalization.datetimestyles).
    # -NamedUtc: the property's name says UTC (WhenChangedUTC), so a time without a zone (DateTime of
    # Unspecified kind, text without Z or an offset) is UTC; otherwise such a time is returned as it came.
    # Text .NET cannot read is returned as text, for psbridge's model to report.
    if ($null -eq $Value) { return $null }
    if ($Value -is [System.DateTimeOffset]) { return $Value.UtcDateTime }
    if ($Value -is [datetime]) {
        if ($Value.Kind -eq [System.DateTimeKind]::Local) { return $Value.ToUniversalTime() }
        if ($Value.Kind -eq [System.DateTimeKind]::Unspecified -and $NamedUtc) {
            return New-Object -TypeName System.DateTime -ArgumentList $Value.Ticks, ([System.DateTimeKind]::Utc)
        }
        return $Value
    }
    $styles = [System.Globalization.DateTimeStyles]::AdjustToUniversal
    if ($NamedUtc) { $styles = $styles -bor [System.Globalization.DateTimeStyles]::AssumeUniversal }
    $parsed = [datetime]::MinValue
    if ([datetime]::TryParse([string]$Value, [System.Globalization.CultureInfo]::InvariantCulture, $styles, [ref]$parsed)) {
        return $parsed
    }
    [string]$Value  # not a time .NET reads: psbridge's model reports it
}

function Get-When($Item) {
    # WhenChangedUTC is unambiguous; WhenChanged carries the server's local offset.
    $utc = ConvertTo-Utc $Item.WhenChangedUTC -NamedUtc
    if ($null -ne $utc) { return $utc }
    ConvertTo-Utc $Item.WhenChanged
}

function ConvertTo-Row($Item) {
    switch ($Command) {
        'Get-User' {
            return [pscustomobject][ordered]@{
                Identity                     = Get-Text $Item.Identity
                Name                         = Get-Text $Item.Name
                DisplayName                  = Get-Text $Item.DisplayName
                UserPrincipalName            = Get-Text $Item.UserPrincipalName
                RecipientType                = Get-Text $Item.RecipientType
                RecipientTypeDetails         = Get-Text $Item.RecipientTypeDetails
                PreviousRecipientTypeDetails = Get-Text $Item.PreviousRecipientTypeDetails
                IsDirSynced                  = Get-Flag $Item.IsDirSynced
                WhenChanged                  = Get-When $Item
            }
        }
        'Get-OrganizationConfig' {
            $row = [ordered]@{ Identity = Get-Text $Item.Identity }
            foreach ($name in 'ExchangeAttributesCloudManagedByDefault', 'BlockExchangeProvisioningFromOnPremEnabled') {
                if ($Item.PSObject.Properties[$name]) { $row[$name] = Get-Flag $Item.$name }
            }
            return [pscustomobject]$row
        }
        'Get-AcceptedDomain' {
            return [pscustomobject][ordered]@{
                Name                = Get-Text $Item.Name
                DomainName          = Get-Text $Item.DomainName
                DomainType          = Get-Text $Item.DomainType
                Default             = Get-Flag $Item.Default
                InitialDomain       = Get-Flag $Item.InitialDomain
                IsCoexistenceDomain = Get-Flag $Item.IsCoexistenceDomain
            }
        }
    }
    $row = [ordered]@{
        Identity             = Get-Text $Item.Identity
        DisplayName          = Get-Text $Item.DisplayName
        UserPrincipalName    = Get-Text $Item.UserPrincipalName
        PrimarySmtpAddress   = Get-Text $Item.PrimarySmtpAddress
        EmailAddresses       = Get-Texts $Item.EmailAddresses
        ExchangeGuid         = Get-Text $Item.ExchangeGuid
        RecipientTypeDetails = Get-Text $Item.RecipientTypeDetails
        WhenChanged          = Get-When $Item
    }
    if ($Command -eq 'Get-RemoteMailbox') { $row['RemoteRoutingAddress'] = Get-Text $Item.RemoteRoutingAddress }
    if ($Command -eq 'Get-Mailbox' -and -not $OnPremises) {
        $row['IsDirSynced'] = Get-Flag $Item.IsDirSynced
        $row['IsExchangeCloudManaged'] = Get-Flag $Item.IsExchangeCloudManaged
    }
    foreach ($name in $Property) { $row[$name] = Get-Scalar $Item.$name }
    [pscustomobject]$row
}

function ConvertTo-IsoText([datetime]$When) {
    # ISO 8601 in UTC with its Z: ToString('o') of a Utc DateTime
    # (https://learn.microsoft.com/dotnet/standard/base-types/standard-date-and-time-format-strings#the-round-trip-o-o-format-specifier).
    # A Local time is converted (ToUniversalTime); a time without a zone (Unspecified: ConvertTo-Utc gives
    # one back as it came) is UTC, as psbridge reads a time without an offset: the same ticks, labelled Utc.
    if ($When.Kind -eq [System.DateTimeKind]::Local) {
        $When = $When.ToUniversalTime()
    } elseif ($When.Kind -eq [System.DateTimeKind]::Unspecified) {
        $When = New-Object -TypeName System.DateTime -ArgumentList $When.Ticks, ([System.DateTimeKind]::Utc)
    }
    $When.ToString('o', [System.Globalization.CultureInfo]::InvariantCulture)
}

function ConvertTo-PageRow($Row) {
    # A projected row as a page carries it (see the header): times as ISO text, arrays as plain object[].
    # The cast unwraps a PSObject-wrapped array, which Windows PowerShell 5.1's ConvertTo-Json writes as
    # {"value":[...],"Count":n}.
    $out = [ordered]@{}
    foreach ($property in $Row.PSObject.Properties) {
        $value = $property.Value
        if ($value -is [datetime]) {
            $value = ConvertTo-IsoText $value
        } elseif ($value -is [System.Collections.IEnumerable] -and $value -isnot [string]) {
            $value = [object[]]$value
        }
        $out[$property.Name] = $value
    }
    $out
}

function Send-Page($Listing, [string]$Id) {
    # One JSON string (see the header). -InputObject, never the pipeline, which would unroll the rows.
    $start = $Listing.Next
    $end = [Math]::Min($start + $PageSize, $Listing.Rows.Count)
    $Listing.Next = $end
    $remaining = $Listing.Rows.Count - $end
    $cursor = $null  # not $Id: a [string] parameter is never $null, only empty
    if ($remaining -gt 0) { $cursor = $Id } elseif ($Id) { $global:PsbridgeExchangeListings.Remove($Id) }
    $page = [ordered]@{
        cursor    = $cursor
        total     = $Listing.Rows.Count
        remaining = $remaining
        rows      = $Listing.Rows.GetRange($start, $end - $start).ToArray()
    }
    ConvertTo-Json -InputObject $page -Compress -Depth 5
}

if ($null -eq $global:PsbridgeExchangeListings) { $global:PsbridgeExchangeListings = @{} }

if ($Cursor) {
    $listing = $global:PsbridgeExchangeListings[$Cursor]
    if ($Release) {
        $global:PsbridgeExchangeListings.Remove($Cursor)
        return
    }
    if ($null -eq $listing -or $PageSize -lt 1) {
        Stop-Here 'PsbridgeExchange.ListingNotFound' "Listing $Cursor is not open in this runspace (it was read to its end, or the runspace was reopened): start the listing again." ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
    }
    Send-Page $listing $Cursor
    return
}

$name = if ($OnPremises) { $Command -replace '^(\w+)-', '$1-OnPrem' } else { $Command }

if ($Command -like 'Set-*') {
    $refused = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($key in $Arguments.Keys) {
        if ($writable[$Command] -notcontains $key) { $refused.Add([string]$key) }
    }
    if ($refused.Count -gt 0) {
        Stop-Here 'PsbridgeExchange.ParameterRefused' "psbridge does not change $($refused -join ', ') with $Command." ([System.Management.Automation.ErrorCategory]::InvalidArgument)
    }
    $null = & $name @Arguments -Confirm:$false
    return
}

$rows = New-Object -TypeName 'System.Collections.Generic.List[object]'
& $name @Arguments | ForEach-Object {
    $row = ConvertTo-Row $_
    if ($null -eq $IsExchangeCloudManaged -or $row.IsExchangeCloudManaged -eq $IsExchangeCloudManaged) {
        if ($PageSize -ge 1) { $row = ConvertTo-PageRow $row }
        $rows.Add($row)
    }
}

if ($PageSize -lt 1) {
    $rows
    return
}
$listing = @{ Rows = $rows; Next = 0 }
$id = $null
if ($rows.Count -gt $PageSize) {
    $id = [guid]::NewGuid().ToString('N')
    $global:PsbridgeExchangeListings[$id] = $listing
}
Send-Page $listing $id
