# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge.hybrid.adsync_scheduler: bring the Connect Sync scheduler to a desired state
(documentation: plugins/modules/adsync_scheduler.py)."""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import change_result
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.action import PsbridgeAction

SETTINGS = ["sync_cycle_enabled", "customized_sync_cycle_interval", "next_sync_cycle_policy_type",
            "purge_run_history_interval", "maintenance_enabled"]


class ActionModule(PsbridgeAction):
    """psbridge.adsync.set_scheduler: reads first, sends only what differs; check mode is its dry run."""

    ARGUMENT_SPEC = {
        "sync_cycle_enabled": {"type": "bool"},
        "customized_sync_cycle_interval": {"type": "str"},
        "next_sync_cycle_policy_type": {"type": "str", "choices": ["Delta", "Initial"]},
        "purge_run_history_interval": {"type": "str"},
        "maintenance_enabled": {"type": "bool"},
    }
    REQUIRED_ONE_OF = [SETTINGS]

    def act(self, targets, session, params):
        from psbridge.adsync import set_scheduler  # pylint: disable=import-outside-toplevel

        desired = {name: params[name] for name in SETTINGS}
        change = set_scheduler(session, dry_run=self._task.check_mode, **desired)
        return change_result(change, self._task.check_mode, self._task.diff)
