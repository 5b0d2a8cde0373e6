# Sets IsExchangeCloudManaged on a batch of Exchange Online mailboxes in one pipeline (docs/exchange.md,
# "Cloud-managed Exchange attributes" and "Bulk changes and throttling"): psbridge's bulk rollout sends
# one batch per call, never one call per mailbox.
#
# For each identity, in order: read the mailbox, report AlreadySet when it is in the desired state,
# WouldChange in a dry run (which only reads), and otherwise run Set-Mailbox -IsExchangeCloudManaged with
# -Confirm:$false (a remote runspace cannot prompt). A failing mailbox never stops the batch: each
# identity yields exactly one flat object, Identity (as given), Outcome (Changed, AlreadySet, WouldChange
# or Failed), Before (the value read, or $null), and for a failure the exception's type and message,
# FullyQualifiedErrorId and CategoryInfo. psbridge classifies the failure (transient or permanent;
# docs/exchange.md, "Errors") with the same rules it uses for every Exchange error record, so there is
# one classifier.
#
# The value read goes through Get-Flag, the rule Invoke-ExchangeCommand.ps1 reads every flag with:
# text is parsed ('False' is $false), never cast. A mailbox that does not report the value is Failed
# (PsbridgeExchange.CloudManagedNotReported), never taken for $false: a missing value is not a state,
# and a switch back to $false must not be skipped as AlreadySet on it. A read that returns no mailbox,
# or more than one, is Failed too (PsbridgeExchange.MailboxNotRead); every mailbox is read afresh, so
# nothing read for one identity is ever used for the next.
#
# Each object crosses as one line of compressed JSON (ConvertTo-Json -Compress) rather than as a projected
# object (docs/exchange.md, "Serialization and projection"): a string deserializes in a fraction of the
# time an eight-property object takes in pypsrp, and its shape cannot drift.
#
# ReadAhead: identities to read after the batch, exactly as a dry run reads them (the same Get-Flag rule, one
# object per identity, in order, after the batch's objects; never written, never paced). psbridge's rollout sends
# the next batch it will write here, so that batch needs no read pipeline of its own.
#
# After each write it sleeps PaceMilliseconds, Microsoft's micro-delay workaround (KB2881759,
# https://support.microsoft.com/en-us/topic/-micro-delay-applied-warning-or-delays-occur-in-exchange-online-86716b03-53ff-d07f-3b24-b638a9f6b733);
# the micro-delay warnings Set-Mailbox writes reach psbridge's warning stream unchanged, and psbridge
# paces the next batch on them.
#
# Runs in a scope of its own and leaves nothing behind in the runspace.
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string[]]$Identity,
    [Parameter(Mandatory)][bool]$Enabled,
    [bool]$DryRun = $false,
    [ValidateRange(0, 60000)][int]$PaceMilliseconds = 0,
    [string[]]$ReadAhead = @()
)

$ProgressPreference = 'SilentlyContinue'

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

function New-Failure([string]$Id, [string]$Message, [System.Management.Automation.ErrorCategory]$Category, $Target) {
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, $Id, $Category, $Target
}

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

function Invoke-Mailbox([string]$Id, [bool]$ReadOnly) {
    # Every variable is the function's own: nothing read for the previous identity may stand in for this one.
    $found = $null
    $before = $null
    $outcome = $null
    $failure = $null
    try {
        $found = @(Get-Mailbox -Identity $Id -ErrorAction Stop)
        if ($found.Count -ne 1) {
            $failure = New-Failure 'PsbridgeExchange.MailboxNotRead' "Get-Mailbox returned $($found.Count) mailboxes for '$Id' where one was expected." ([System.Management.Automation.ErrorCategory]::ObjectNotFound) $Id
        } else {
            $before = Get-Flag $found[0].IsExchangeCloudManaged
            if ($null -eq $before) {
                $failure = New-Failure 'PsbridgeExchange.CloudManagedNotReported' "Get-Mailbox did not report IsExchangeCloudManaged for '$Id'; it was left unchanged." ([System.Management.Automation.ErrorCategory]::InvalidData) $Id
            } elseif ($before -eq $Enabled) {
                $outcome = 'AlreadySet'
            } elseif ($ReadOnly) {
                $outcome = 'WouldChange'
            } else {
                try {
                    Set-Mailbox -Identity $Id -IsExchangeCloudManaged $Enabled -Confirm:$false -ErrorAction Stop
                } finally {
                    if ($PaceMilliseconds -gt 0) {
                        Start-Sleep -Milliseconds $PaceMilliseconds
                    }
                }
                $outcome = 'Changed'
            }
        }
    } catch {
        $failure = $_
    }
    if ($null -ne $failure) {
        $outcome = 'Failed'
    }
    Out-Result $Id $outcome $before $failure
}

foreach ($id in $Identity) {
    Invoke-Mailbox $id $DryRun
}
foreach ($id in $ReadAhead) {
    Invoke-Mailbox $id $true
}
