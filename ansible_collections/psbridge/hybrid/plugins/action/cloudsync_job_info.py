# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge.hybrid.cloudsync_job_info: Entra Cloud Sync jobs, their status, schedules and settings
(documentation: plugins/modules/cloudsync_job_info.py)."""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import model_result
from ansible_collections.psbridge.hybrid.plugins.module_utils.graph import GRAPH_SPEC, backend, resolve_via
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.cloudsync import CloudSyncAction

# Each subset: the backend's read, and the field of its model that holds the list.
READS = {
    "status": ("get_job_status", "jobs"),
    "jobs": ("get_job", "jobs"),
    "schedule": ("get_job_schedule", "schedules"),
    "settings": ("get_job_settings", "settings"),
}
TEMPLATES = ["AD2AADProvisioning", "AD2AADPasswordHash", "AAD2ADExchangeHybridWriteback"]


class ActionModule(CloudSyncAction):
    """The Cloud Sync backend's reads (psbridge.cloudsync.backend), over Graph or AADCloudSyncTools."""

    ARGUMENT_SPEC = dict(GRAPH_SPEC)
    ARGUMENT_SPEC.update({
        "job_id": {"type": "str"},
        "template": {"type": "str", "choices": TEMPLATES},
        "gather": {"type": "list", "elements": "str", "choices": sorted(READS), "default": ["status"]},
    })
    MUTUALLY_EXCLUSIVE = [["job_id", "template"]]

    def act(self, targets, session, params):
        via = resolve_via(params, targets)
        result = {"changed": False, "via": via}
        for subset in params["gather"]:
            read, field = READS[subset]
            jobs, client = backend(targets, session, via)
            try:
                found = getattr(jobs, read)(job_id=params["job_id"], template=params["template"])
            finally:
                if client is not None:
                    client.close()
            result[subset] = model_result(getattr(found, field))
            if subset == "status":
                result["quarantined"] = [job.id for job in found.quarantined]
        return result
