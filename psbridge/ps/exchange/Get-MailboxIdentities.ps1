# Resolves an OPATH filter to the identities of the mailboxes it selects, for a bulk operation
# (docs/exchange.md, "Mailboxes and recipients"): one string per mailbox, projected on the jump host, so
# 50,000 mailboxes cross the wire as 50,000 strings rather than 50,000 mailbox objects of 230 properties.
# The identity is the UPN, or the object's GUID when a mailbox has none (UPN and GUID are the fast
# lookups; Name and Alias are slow). The filter is bound as a parameter and never pasted into script
# text, so a `$true` in it reaches Exchange unexpanded. ResultSize is always explicit (its default of
# 1000 truncates with only a warning); a truncation warning reaches psbridge's warning stream.
[CmdletBinding()]
param(
    [string]$Filter,
    [string]$ResultSize = 'Unlimited'
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$query = @{ ResultSize = $ResultSize }
if ($Filter) {
    $query['Filter'] = $Filter
}
Get-Mailbox @query | ForEach-Object {
    if ($_.UserPrincipalName) { [string]$_.UserPrincipalName } else { [string]$_.Guid }
}
