# Sets IsExchangeCloudManaged on a batch of Exchange Online mailboxes in one pipeline (exchange.md
# section 4): psbridge's bulk rollout sends one batch per call, never one call per mailbox.
#
# For each identity, in order: read the mailbox, report AlreadySet when it is in the desired state,
# WouldChange in a dry run (which only reads), and otherwise run Set-Mailbox -IsExchangeCloudManaged
# with -Confirm:$false (rule 3: the remote host cannot prompt). A failing mailbox never stops the
# batch: each identity yields exactly one flat object, Identity (as given), Outcome (Changed,
# AlreadySet, WouldChange or Failed), Before (the value read, or $null), and for a failure the
# exception's type and message, FullyQualifiedErrorId and CategoryInfo. psbridge classifies the
# failure (transient or permanent, section 8.2) with the same rules it uses for every Exchange error
# record, so there is one classifier.
#
# Each object crosses as one line of compressed JSON (rule 1's second form): a string deserializes
# in a fraction of the time an eight-property object takes in pypsrp, and its shape cannot drift.
#
# After each write it sleeps PaceMilliseconds, Microsoft's micro-delay workaround (section 8.2);
# the micro-delay warnings Set-Mailbox writes reach psbridge's warning stream unchanged, and
# psbridge paces the next batch on them.
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string[]]$Identity,
    [Parameter(Mandatory)][bool]$Enabled,
    [bool]$DryRun = $false,
    [ValidateRange(0, 60000)][int]$PaceMilliseconds = 0
)

$ProgressPreference = 'SilentlyContinue'

function Out-Result([string]$Id, [string]$Outcome, $Before, $ErrorRecord) {
    $failure = $null -ne $ErrorRecord
    [ordered]@{
        Identity      = $Id
        Outcome       = $Outcome
        Before        = $Before
        ErrorType     = if ($failure) { $ErrorRecord.Exception.GetType().FullName } else { $null }
        ErrorMessage  = if ($failure) { [string]$ErrorRecord.Exception.Message } else { $null }
        ErrorId       = if ($failure) { [string]$ErrorRecord.FullyQualifiedErrorId } else { $null }
        ErrorCategory = if ($failure) { [string]$ErrorRecord.CategoryInfo.Category } else { $null }
        ErrorReason   = if ($failure) { [string]$ErrorRecord.CategoryInfo.Reason } else { $null }
    } | ConvertTo-Json -Compress
}

foreach ($id in $Identity) {
    $before = $null
    $failure = $null
    try {
        $mailbox = Get-Mailbox -Identity $id -ErrorAction Stop
        $before = [bool]$mailbox.IsExchangeCloudManaged
        if ($before -eq $Enabled) {
            $outcome = 'AlreadySet'
        } elseif ($DryRun) {
            $outcome = 'WouldChange'
        } else {
            try {
                Set-Mailbox -Identity $id -IsExchangeCloudManaged $Enabled -Confirm:$false -ErrorAction Stop
            } finally {
                if ($PaceMilliseconds -gt 0) {
                    Start-Sleep -Milliseconds $PaceMilliseconds
                }
            }
            $outcome = 'Changed'
        }
    } catch {
        $outcome = 'Failed'
        $failure = $_
    }
    Out-Result $id $outcome $before $failure
}
