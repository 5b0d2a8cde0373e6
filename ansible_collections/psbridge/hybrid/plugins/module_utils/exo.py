# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""What the Exchange Online plugins share: the sign-in options, the rollout journal's place, the rollout's result.

Exchange Online is reached through a Windows jump host (the task's connection options) that has the
ExchangeOnlineManagement module, and signs in there app-only, once per runspace
(psbridge.exchange.connect_exchange_online). The sign-in comes from, in this order:

1. the task's options `organization` with `app_id` and `certificate_thumbprint` (a certificate in the jump
   host's store: the thumbprint names it, it is not a secret), or with `managed_identity`;
2. with `target`: an `exo` target of psbridge's config file that declares them (its `organization`, `app_id`,
   `certificate_thumbprint` keys), which psbridge.targets signs in with; giving both is refused;
3. under `replay`, nothing: the recordings decide whether there was a sign-in.
Otherwise the task fails with InputError before anything is sent.

The bulk rollout's journal lives on the controller. Without the `journal` option it is
`~/.ansible/psbridge/journals/<target or inventory host>/<organization>-cloud-managed-<true|false>.jsonl`
(`default_journal`): one per host and tenant and direction, so that a re-run of the same play resumes
and a play over several hosts never shares one (a journal is locked while a rollout writes it).
"""

from __future__ import annotations

import os
import re
import tempfile
from types import SimpleNamespace

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import HAS_PSBRIDGE, model_result

if HAS_PSBRIDGE:
    from psbridge.errors import InputError

# The Exchange Online sign-in options of every exo_* module (doc fragment: psbridge.hybrid.exo).
EXO_SPEC = {
    "organization": {"type": "str"},
    "app_id": {"type": "str"},
    "certificate_thumbprint": {"type": "str"},
    "managed_identity": {"type": "bool", "default": False},
    "managed_identity_account_id": {"type": "str"},
}

JOURNAL_HOME = os.path.join("~", ".ansible", "psbridge", "journals")
ROLLOUT_COUNTS = ("total", "changed", "already_set", "would_change", "failed", "unfinished", "reverted", "skipped")
DIFF_LINES = 20  # mailboxes listed by name in a rollout's diff; the rest are counted
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def sign_in(targets, session, params):
    """Sign `session` in to Exchange Online as the module docstring says; returns the organization (the
    tenant, recorded in a rollout's journal), or None when the recordings decide."""
    from psbridge.exchange import ExoConnection, connect_exchange_online  # pylint: disable=import-outside-toplevel

    given = {name: params[name] for name in EXO_SPEC if params.get(name)}
    target = targets.target(params["target"]) if params.get("target") else None
    declared = target is not None and target.role == "exo" and target.declares_sign_in
    if given and declared:
        raise InputError("target %r signs in to Exchange Online with its own settings in psbridge's config file: "
                         "leave organization, app_id, certificate_thumbprint and managed_identity out" % target.name)
    if declared:
        return target.organization
    if not given:
        if params.get("replay"):
            return None
        raise InputError("Exchange Online needs organization with app_id and certificate_thumbprint, or with "
                         "managed_identity (or a target of role exo in psbridge's config file that declares them)")
    try:
        connection = ExoConnection.of(SimpleNamespace(**given))
    except ValueError as exc:
        raise InputError("Exchange Online sign-in: %s" % exc) from None
    connect_exchange_online(session, connection)
    return connection.organization


def default_journal(host, organization, enabled):
    """Where a rollout's journal lives when the task names none (see the module docstring)."""
    name = "%s-cloud-managed-%s.jsonl" % (_safe(organization or "tenant"), "true" if enabled else "false")
    return os.path.join(os.path.expanduser(JOURNAL_HOME), _safe(host or "ansible"), name)


def _safe(text):
    """`text` as one file-name segment: anything but letters, digits and `._@-` becomes `_`."""
    cleaned = _UNSAFE.sub("_", str(text)).strip("._")
    return cleaned or "_"


def prepare_journal(path, defaulted):
    """The journal's folder exists (a default one is created readable by its owner only)."""
    folder = os.path.dirname(os.path.abspath(path))
    if defaulted and not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700)


def dry_run_journal():
    """A folder for the journal of a check-mode run (the rollout's dry run), removed by the caller: a dry
    run's journal is written for other settings than the real one's, so it never goes in the real one."""
    return tempfile.TemporaryDirectory(prefix="psbridge-check-")  # pylint: disable=consider-using-with


def rollout_result(report, check_mode, diff):
    """A rollout report as a task result: `changed` (in check mode: would any mailbox change), the counts,
    every mailbox's outcome, a text diff of the mailboxes that change; failed when any mailbox failed, is
    unfinished or was switched back since (Reverted), with the error class of the first of them."""
    counts = {name: getattr(report, name) for name in ROLLOUT_COUNTS}
    outcome = "WouldChange" if check_mode else "Changed"
    moving = [item for item in report.items if item.outcome.value == outcome and not item.from_journal]
    result = {
        "changed": (report.would_change if check_mode else report.changed) > 0,
        "enabled": report.enabled,
        "counts": counts,
        "mailboxes": model_result(report.items),
        "batches": report.batches,
        "retried": report.retried,
        "micro_delays": report.micro_delays,
        "pace_s": report.pace_s,
    }
    if diff:
        result["diff"] = _rollout_diff(moving, report.enabled)
    if not report.succeeded:
        result.update(_failed(report))
    return result


def _rollout_diff(moving, enabled):
    """IsExchangeCloudManaged before and after, one line per mailbox that changes (the first DIFF_LINES)."""
    shown, rest = moving[:DIFF_LINES], len(moving) - DIFF_LINES
    more = ["... and %d more mailboxes" % rest] if rest > 0 else []
    before = ["%s: IsExchangeCloudManaged %s" % (i.identity, i.before) for i in shown] + more
    after = ["%s: IsExchangeCloudManaged %s" % (i.identity, enabled) for i in shown] + more
    return {
        "before_header": "IsExchangeCloudManaged (%d mailboxes change)" % len(moving),
        "after_header": "IsExchangeCloudManaged (%d mailboxes change)" % len(moving),
        "before": "".join(line + "\n" for line in before),
        "after": "".join(line + "\n" for line in after),
    }


def _failed(report):
    """`failed`, `msg` and `error` of a rollout that did not succeed (psbridge's exit code 1, `short`)."""
    bad = [item for item in report.items if item.outcome.value in ("Failed", "Unfinished", "Reverted")]
    first = bad[0]
    cls = first.error_class or first.outcome.value
    shown = "; ".join("%s (%s: %s)" % (i.identity, i.error_class or i.outcome.value, i.error_message or i.outcome.value)
                      for i in bad[:5])
    msg = "%s: %d of %d mailboxes did not reach IsExchangeCloudManaged=%s: %s%s" % (
        cls, len(bad), report.total, report.enabled, shown, "; ..." if len(bad) > 5 else "")
    error = {
        "error": cls,
        "message": msg.split(": ", 1)[1],
        "mailboxes": [i.identity for i in bad],
        "exit_code": 1,
        "exit_meaning": "short",
        "transient": all(i.outcome.value == "Unfinished" for i in bad),
    }
    return {"failed": True, "msg": msg, "error": error}
