# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge.hybrid.exo_org_config: read the Exchange Online organization config, and bring the tenant's
cloud-managed default for new mailboxes to a desired state (documentation: plugins/modules/exo_org_config.py)."""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import change_result, model_result
from ansible_collections.psbridge.hybrid.plugins.module_utils.exo import EXO_SPEC, sign_in
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.action import PsbridgeAction


class ActionModule(PsbridgeAction):
    """psbridge.exchange.get_organization_config; with `cloud_managed_by_default`, set_organization_config
    (reads first, sends only a change; check mode is its dry run)."""

    ARGUMENT_SPEC = dict(EXO_SPEC, cloud_managed_by_default={"type": "bool"})

    def act(self, targets, session, params):
        from psbridge import exchange  # pylint: disable=import-outside-toplevel
        from psbridge.exchange.functions import TENANT_DEFAULT_WARNING  # pylint: disable=import-outside-toplevel

        sign_in(targets, session, params)
        desired = params["cloud_managed_by_default"]
        if desired is None:
            return {"changed": False, "organization_config": model_result(exchange.get_organization_config(session))}
        check_mode = self._task.check_mode
        change = exchange.set_organization_config(session, cloud_managed_by_default=desired, dry_run=check_mode)
        result = change_result(change, check_mode, self._task.diff)
        result["organization_config"] = result["after"]
        if desired and result["changed"]:
            result["warnings"] = ["new dir-synced mailboxes now get cloud-managed Exchange attributes: "
                                  + TENANT_DEFAULT_WARNING]
        return result
