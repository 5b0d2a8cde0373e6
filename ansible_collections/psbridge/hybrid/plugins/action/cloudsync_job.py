# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge.hybrid.cloudsync_job: bring an Entra Cloud Sync job to a desired state
(documentation: plugins/modules/cloudsync_job.py)."""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import model_result
from ansible_collections.psbridge.hybrid.plugins.module_utils.graph import GRAPH_SPEC, backend, resolve_via
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.cloudsync import CloudSyncAction

# The backend's operation for each state (psbridge.cloudsync.backend.CloudSyncBackend).
ACTIONS = {"suspended": "suspend_job", "running": "resume_job", "restarted": "restart_job"}
STATUS_CODES = ["NotConfigured", "NotRun", "Active", "Paused", "Quarantine"]


class ActionModule(CloudSyncAction):
    """Suspend, resume or restart through the backend; each reads first, and check mode is its dry run."""

    ARGUMENT_SPEC = dict(GRAPH_SPEC)
    ARGUMENT_SPEC.update({
        "job_id": {"type": "str", "required": True},
        "state": {"type": "str", "choices": sorted(ACTIONS), "required": True},
        "scope": {"type": "list", "elements": "str"},
        "confirm_force_deletes": {"type": "bool", "default": False},
        "wait_for": {"type": "str", "choices": STATUS_CODES},
        "deadline": {"type": "float", "default": 300.0},
        "poll": {"type": "float", "default": 10.0},
    })

    def act(self, targets, session, params):
        from psbridge.errors import InputError  # pylint: disable=import-outside-toplevel

        state, check_mode = params["state"], self._task.check_mode
        options = {"job_id": params["job_id"], "wait_for": params["wait_for"], "deadline_s": params["deadline"],
                   "poll_s": params["poll"], "dry_run": check_mode}
        if state == "restarted":
            options["scope"] = "Full" if params["scope"] is None else params["scope"]
            options["confirm_force_deletes"] = params["confirm_force_deletes"]
        elif params["scope"] is not None or params["confirm_force_deletes"]:
            raise InputError("scope and confirm_force_deletes are for state=restarted")
        via = resolve_via(params, targets)
        jobs, client = backend(targets, session, via)
        try:
            change = getattr(jobs, ACTIONS[state])(**options)
        finally:
            if client is not None:
                client.close()
        return self._result(change, via, check_mode, params["deadline"])

    def _result(self, change, via, check_mode, deadline):
        before, after = model_result(change.before) if change.before is not None else None, model_result(change.after)
        result = {
            "changed": bool(change.would_change if check_mode else change.changed),
            "via": via,
            "action": change.action,
            "before": before,
            "after": after,
            "note": change.note,
            "reset_scope": change.reset_scope,
            "wait_for": change.wait_for,
            "reached": change.reached,
        }
        if self._task.diff:
            result["diff"] = {"before": before, "after": after}
        if not change.ok:
            result["failed"] = True
            result["msg"] = "job %s did not reach %s within %s s" % (change.job_id, change.wait_for, deadline)
        return result
