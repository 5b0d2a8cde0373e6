# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The base of the Cloud Sync action plugins: the task's Graph app goes into its psbridge Targets, and a task
over Graph opens no PSRP session (it needs no Windows host, no password and no PSRP recordings)."""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.graph import resolve_via, targets_arguments
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.action import PsbridgeAction


class CloudSyncAction(PsbridgeAction):
    """A Cloud Sync task, over Graph or over PSRP to the agent's host (`psbridge.hybrid.graph` options)."""

    def targets_arguments(self, params):
        return targets_arguments(params)

    def needs_session(self, targets, params):
        return resolve_via(params, targets) == "psrp"
