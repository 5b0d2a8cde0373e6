"""One user, two mailboxes: `psbridge diagnose duplicate-mailbox` and `psbridge repair duplicate-mailbox`.

How it arises (docs/exchange.md, Mailboxes and recipients): a user whose mailbox is on Exchange Server is a
MailUser in Exchange Online. When its ExchangeGuid is not synchronized and an Exchange Online licence is
assigned, Exchange Online creates a second mailbox, and "mail flow issues will follow". Removing the licence
turns the object back into a MailUser but leaves it "unclean": PreviousRecipientTypeDetails still points at
the cloud mailbox. The way out: clear that (`Set-User -PermanentlyClearPreviousMailboxInfo`, irreversible),
sync the right ExchangeGuid, then license again.

- `diagnose_duplicate_mailbox` (`diagnose.py`) compares both sides with the detection rules of docs/exchange.md.
- `repair_duplicate_mailbox` (`repair.py`) is the guarded remediation: a plan by default, each step
  verified before the next, every wait bounded, journaled (`RepairJournal`, `journal.py`) so that a
  repair that stops resumes where it stopped.
"""

from __future__ import annotations

from psbridge.runbooks.duplicate.diagnose import diagnose_duplicate_mailbox, read_on_premises, read_online
from psbridge.runbooks.duplicate.journal import RepairJournal
from psbridge.runbooks.duplicate.repair import STEPS, Step, repair_duplicate_mailbox

__all__ = [
    "STEPS",
    "RepairJournal",
    "Step",
    "diagnose_duplicate_mailbox",
    "read_on_premises",
    "read_online",
    "repair_duplicate_mailbox",
]
