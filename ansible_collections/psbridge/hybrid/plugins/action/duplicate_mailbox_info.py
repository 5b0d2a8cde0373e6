# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge.hybrid.duplicate_mailbox_info: does a user have a mailbox on both sides?
(documentation: plugins/modules/duplicate_mailbox_info.py)."""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.runbooks import ROLE_SPECS, report_result, run_runbook
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.action import PsbridgeAction


class ActionModule(PsbridgeAction):
    """psbridge.runbooks.diagnose_duplicate_mailbox, read-only: the task's host is the Exchange Online jump host."""

    ARGUMENT_SPEC = {
        "user": {"type": "str", "required": True},
        "exchange_target": ROLE_SPECS["exchange_target"],
        "via_jump_host": {"type": "bool"},
    }

    def act(self, targets, session, params):
        from psbridge.runbooks import diagnose_duplicate_mailbox  # pylint: disable=import-outside-toplevel

        def diagnose(roles, extra):
            return diagnose_duplicate_mailbox(roles, user=params["user"], **extra)

        report = run_runbook(targets, session, params, own="exo", others=("exchange",), runbook=diagnose,
                             via_jump_host=params["via_jump_host"])
        return report_result(report, "never")
