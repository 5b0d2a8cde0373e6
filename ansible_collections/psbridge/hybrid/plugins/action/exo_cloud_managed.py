# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge.hybrid.exo_cloud_managed: bring IsExchangeCloudManaged of one mailbox or many to a desired state
(documentation: plugins/modules/exo_cloud_managed.py)."""

from __future__ import annotations

import os

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import change_result
from ansible_collections.psbridge.hybrid.plugins.module_utils.exo import (
    EXO_SPEC,
    default_journal,
    dry_run_journal,
    prepare_journal,
    rollout_result,
    sign_in,
)
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.action import PsbridgeAction


class ActionModule(PsbridgeAction):
    """One mailbox: psbridge.exchange.set_mailbox_cloud_managed (reads first; check mode is its dry run).
    Many: psbridge.exchange.rollout_cloud_managed, batched and journaled on the controller (check mode is the
    rollout's dry run, which reads every mailbox, with a journal of its own)."""

    ARGUMENT_SPEC = dict(EXO_SPEC, **{
        "identity": {"type": "str"},
        "identities": {"type": "list", "elements": "str"},
        "enabled": {"type": "bool", "required": True},
        "journal": {"type": "path"},
        "batch_size": {"type": "int", "default": 200},
        "pace": {"type": "float", "default": 0.5},
        "retry_wait": {"type": "float", "default": 30.0},
        "retry_failed": {"type": "bool", "default": False},
    })
    MUTUALLY_EXCLUSIVE = [["identity", "identities"]]
    REQUIRED_ONE_OF = [["identity", "identities"]]

    def run(self, tmp=None, task_vars=None):
        self._host = (task_vars or {}).get("inventory_hostname")  # names the default journal's folder
        return super().run(tmp, task_vars)

    def act(self, targets, session, params):
        tenant = sign_in(targets, session, params)
        if params["identity"] is not None:
            return self._one(session, params)
        return self._many(session, params, tenant)

    def _one(self, session, params):
        from psbridge.exchange import set_mailbox_cloud_managed  # pylint: disable=import-outside-toplevel

        check_mode = self._task.check_mode
        change = set_mailbox_cloud_managed(session, identity=params["identity"], enabled=params["enabled"],
                                           dry_run=check_mode)
        result = change_result(change, check_mode, self._task.diff)
        before = change.before.is_exchange_cloud_managed
        outcome = "AlreadySet" if not change.would_change else "WouldChange" if check_mode else "Changed"
        result["enabled"] = params["enabled"]
        result["mailboxes"] = [{"identity": params["identity"], "outcome": outcome, "before": before}]
        return result

    def _many(self, session, params, tenant):
        from psbridge.exchange.rollout import item_retry, rollout_cloud_managed  # pylint: disable=import-outside-toplevel
        from psbridge.exchange.rollout_plan import plan_rollout  # pylint: disable=import-outside-toplevel

        journal = params["journal"]
        if not journal:
            journal = default_journal(params["target"] or self._host, tenant, params["enabled"])
        prepare_journal(journal, defaulted=not params["journal"])
        common = {
            "identities": params["identities"], "enabled": params["enabled"], "batch_size": params["batch_size"],
            "pace_s": params["pace"], "timeout": params["timeout"], "retry_failed": params["retry_failed"],
        }
        check_mode = self._task.check_mode
        if check_mode:
            # Refuses what the real run would (a journal for other settings, a timeout a batch cannot keep) and
            # says what the journal has done; the dry run then reads every mailbox, journaled apart.
            plan = plan_rollout(target=session.target, tenant=tenant, journal=journal, **common)
            with dry_run_journal() as folder:
                report = rollout_cloud_managed(session, journal=os.path.join(folder, "dry-run.jsonl"), dry_run=True,
                                               tenant=tenant, retry=item_retry(params["retry_wait"]), **common)
        else:
            plan = None
            report = rollout_cloud_managed(session, journal=journal, tenant=tenant,
                                           retry=item_retry(params["retry_wait"]), **common)
        result = rollout_result(report, check_mode, self._task.diff)
        result["journal"] = journal
        if plan is not None:
            result["plan"] = plan.model_dump(mode="json")
        return result
