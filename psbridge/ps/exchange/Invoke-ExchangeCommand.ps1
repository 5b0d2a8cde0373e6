# Runs one Exchange cmdlet for psbridge.exchange on the jump host and projects what it returns to flat
# objects (exchange.md rule 1: objects cross two serialization hops, and nested values would arrive as
# ToString() text). Runs in Windows PowerShell 5.1 and PowerShell 7.
#
# Exchange Online: in the runspace where psbridge signed in with Connect-ExchangeOnline. Exchange Server
# through the jump host (-OnPremises): the cmdlets Connect-ExchangeServer.ps1 imported with the prefix
# OnPrem (Get-OnPremMailbox, ...), so they never shadow the Exchange Online cmdlets of the same name.
#
# A Set-* accepts only the parameters listed in $writable (psbridge changes nothing else) and always
# runs with -Confirm:$false: the remote host cannot prompt (rule 3). Python did the confirming.
#
# Paging (-PageSize): the first call runs the cmdlet, projects each object as it arrives (keeping only
# the modelled fields), keeps the rows in this runspace and sends the first page, then a
# Psbridge.Exchange.Page marker. While the marker carries a Cursor, a call with -Cursor sends the next
# page; -Release drops a listing the caller left unfinished. -IsExchangeCloudManaged filters mailboxes
# here, with Where-Object semantics: the property is not OPATH-filterable (section 3.1).
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
    # [bool]'False' is $true in PowerShell: text is parsed, never cast.
    if ($null -eq $Value -or $Value -is [bool]) { return $Value }
    [System.Convert]::ToBoolean([string]$Value)
}

function Get-Scalar($Value) {
    if ($null -eq $Value -or $Value -is [bool] -or $Value -is [string]) { return $Value }
    if ($Value -is [System.Collections.IEnumerable]) { return , (Get-Texts $Value) }
    [string]$Value
}

function Get-When($Item) {
    # WhenChangedUTC is unambiguous; WhenChanged carries the server's local offset.
    $utc = $Item.WhenChangedUTC
    if ($null -ne $utc) { return [datetime]::SpecifyKind([datetime]$utc, [System.DateTimeKind]::Utc) }
    $Item.WhenChanged
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

function Send-Page($Listing, [string]$Id) {
    $end = [Math]::Min($Listing.Next + $PageSize, $Listing.Rows.Count)
    for ($i = $Listing.Next; $i -lt $end; $i++) { $Listing.Rows[$i] }
    $Listing.Next = $end
    $remaining = $Listing.Rows.Count - $end
    if ($remaining -eq 0 -and $Id) {
        $global:PsbridgeExchangeListings.Remove($Id)
        $Id = $null
    }
    [pscustomobject]@{ PSTypeName = 'Psbridge.Exchange.Page'; Cursor = $Id; Total = $Listing.Rows.Count; Remaining = $remaining }
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
    $refused = @($Arguments.Keys | Where-Object { $writable[$Command] -notcontains $_ })
    if ($refused.Count -gt 0) {
        Stop-Here 'PsbridgeExchange.ParameterRefused' "psbridge does not change $($refused -join ', ') with $Command." ([System.Management.Automation.ErrorCategory]::InvalidArgument)
    }
    $null = & $name @Arguments -Confirm:$false
    return
}

$rows = New-Object -TypeName 'System.Collections.Generic.List[object]'
& $name @Arguments | ForEach-Object {
    $row = ConvertTo-Row $_
    if ($null -eq $IsExchangeCloudManaged -or $row.IsExchangeCloudManaged -eq $IsExchangeCloudManaged) { $rows.Add($row) }
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
