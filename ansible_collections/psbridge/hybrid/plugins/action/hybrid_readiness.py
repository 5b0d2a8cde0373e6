# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge.hybrid.hybrid_readiness: can the mailboxes' Exchange attributes be cloud-managed yet?
(documentation: plugins/modules/hybrid_readiness.py)."""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.runbooks import (
    ROLE_SPECS,
    has_role,
    report_result,
    run_runbook,
)
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.action import PsbridgeAction


class ActionModule(PsbridgeAction):
    """psbridge.runbooks.check_cloud_managed_readiness; the task's host is the Connect Sync server."""

    ARGUMENT_SPEC = dict(ROLE_SPECS)
    ARGUMENT_SPEC.update({
        "cloud_sync": {"type": "bool"},
        "via_jump_host": {"type": "bool"},
        "minimum": {"type": "str"},
        "as_of": {"type": "str"},
        "fail_on": {"type": "str", "choices": ["never", "fail", "warn"], "default": "never"},
    })

    def act(self, targets, session, params):
        # pylint: disable=import-outside-toplevel
        import datetime as dt

        from psbridge.defaults import CLOUD_MANAGED_DEFAULT_MINIMUM
        from psbridge.errors import InputError
        from psbridge.runbooks import check_cloud_managed_readiness

        try:
            today = dt.date.fromisoformat(params["as_of"]) if params["as_of"] else targets.now().date()
        except ValueError:
            raise InputError("as_of must be a date, YYYY-MM-DD, not %r" % params["as_of"]) from None
        cloud_sync = params["cloud_sync"]
        if cloud_sync is None:
            cloud_sync = has_role(targets, params, "cloudsync-agent")
        others = ("exo", "exchange") + (("cloudsync-agent",) if cloud_sync else ())

        def check(roles, options):
            return check_cloud_managed_readiness(roles, cloud_sync=cloud_sync, today=today,
                                                 minimum=params["minimum"] or CLOUD_MANAGED_DEFAULT_MINIMUM,
                                                 **options)

        result = report_result(run_runbook(targets, session, params, own="connect", others=others, runbook=check,
                                           via_jump_host=params["via_jump_host"]), params["fail_on"])
        result["ansible_facts"] = {"psbridge_readiness": result["report"]}
        return result
