# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge.hybrid.adsync_info: read an Entra Connect Sync server (documentation: plugins/modules/adsync_info.py)."""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import model_result
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.action import PsbridgeAction

SUBSETS = ["version", "scheduler", "run_status", "global_settings"]


class ActionModule(PsbridgeAction):
    """Version against a minimum (with Microsoft's lifecycle notes), scheduler, run status, global settings."""

    ARGUMENT_SPEC = {
        "gather": {"type": "list", "elements": "str", "choices": SUBSETS, "default": SUBSETS},
        "minimum": {"type": "str"},
        "cloud_managed_minimum": {"type": "str"},
    }

    def act(self, targets, session, params):
        from psbridge import adsync  # pylint: disable=import-outside-toplevel

        gather = params["gather"]
        result = {"changed": False}
        if "version" in gather or "global_settings" in gather:
            settings = adsync.get_global_settings(session)  # read once: the version is one of its parameters
            if "version" in gather:
                result["version"] = model_result(_version_check(session, settings, targets, params))
            if "global_settings" in gather:
                result["global_settings"] = model_result(settings)
        if "scheduler" in gather:
            result["scheduler"] = model_result(adsync.get_scheduler(session))
        if "run_status" in gather:
            result["run_status"] = model_result(adsync.get_connector_run_status(session))
        return result


def _version_check(session, settings, targets, params):
    """psbridge.adsync.check_version's verdict, from the global settings already read (under replay, judged as of
    when the recordings were made, as the psbridge CLI does)."""
    from psbridge.adsync import check_version  # pylint: disable=import-outside-toplevel

    minimums = {name: params[name] for name in ("minimum", "cloud_managed_minimum") if params[name]}
    return check_version(session, today=targets.now().date(), settings=settings, **minimums)
