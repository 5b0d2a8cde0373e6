# Resolves an OPATH filter to the identities of the mailboxes it selects, for a bulk operation
# (docs/exchange.md, "Mailboxes and recipients"): one identity per mailbox, projected on the jump host, so
# 50,000 mailboxes cross the wire as identities rather than 50,000 mailbox objects of 230 properties.
# The identity is the UPN, or the object's GUID when a mailbox has none (UPN and GUID are the fast
# lookups; Name and Alias are slow). The filter is bound as a parameter and never pasted into script
# text, so a `$true` in it reaches Exchange unexpanded. ResultSize is always explicit (its default of
# 1000 truncates with only a warning); a truncation warning reaches psbridge's warning stream.
#
# The identities cross as compact JSON pages (docs/exchange.md, "Serialization and projection"): one string per
# PageSize identities, each a JSON array of strings, e.g. ["adele@contoso.example","alex@contoso.example"], in
# the order Get-Mailbox returned them; no mailbox, no page. 50,000 identities are 50 strings at the default
# page size, not 50,000 objects to serialize and decode one by one. psbridge validates each page with pydantic's
# JSON validation.
[CmdletBinding()]
param(
    [string]$Filter,
    [string]$ResultSize = 'Unlimited',
    [ValidateRange(1, 100000)][int]$PageSize = 1000
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$query = @{ ResultSize = $ResultSize }
if ($Filter) {
    $query['Filter'] = $Filter
}
$page = New-Object -TypeName 'System.Collections.Generic.List[string]'
Get-Mailbox @query | ForEach-Object {
    if ($_.UserPrincipalName) { $page.Add([string]$_.UserPrincipalName) } else { $page.Add([string]$_.Guid) }
    if ($page.Count -ge $PageSize) {
        # -InputObject, never the pipeline, which would unroll the array (and a one-element one to a string).
        ConvertTo-Json -InputObject $page.ToArray() -Compress
        $page.Clear()
    }
}
if ($page.Count -gt 0) {
    ConvertTo-Json -InputObject $page.ToArray() -Compress
}
