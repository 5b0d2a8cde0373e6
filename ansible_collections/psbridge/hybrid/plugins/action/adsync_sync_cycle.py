# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge.hybrid.adsync_sync_cycle: start an Entra Connect Sync cycle
(documentation: plugins/modules/adsync_sync_cycle.py)."""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import model_result
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.action import PsbridgeAction


class ActionModule(PsbridgeAction):
    """psbridge.adsync.start_sync_cycle: changed when a cycle was started; check mode is its dry run."""

    ARGUMENT_SPEC = {
        "policy_type": {"type": "str", "choices": ["Delta", "Initial"], "default": "Delta"},
        "wait": {"type": "bool", "default": False},
        "deadline": {"type": "float", "default": 3600.0},
        "poll": {"type": "float", "default": 15.0},
    }

    def act(self, targets, session, params):
        from psbridge.adsync import start_sync_cycle  # pylint: disable=import-outside-toplevel

        check_mode = self._task.check_mode
        start = start_sync_cycle(session, policy_type=params["policy_type"], dry_run=check_mode,
                                 wait=params["wait"], deadline_s=params["deadline"], poll_s=params["poll"])
        result = model_result(start)
        result["changed"] = bool(start.would_change if check_mode else start.started)
        if start.finished is False:
            result["failed"] = True
            result["msg"] = ("the %s sync cycle started but was not seen to finish within %s s; it keeps running"
                             % (start.policy_type.value, params["deadline"]))
        return result
