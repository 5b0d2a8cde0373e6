# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge.hybrid.exo_mailbox_info: read Exchange Online mailboxes (documentation: plugins/modules/exo_mailbox_info.py)."""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import model_result
from ansible_collections.psbridge.hybrid.plugins.module_utils.exo import EXO_SPEC, sign_in
from ansible_collections.psbridge.hybrid.plugins.plugin_utils.action import PsbridgeAction


class ActionModule(PsbridgeAction):
    """psbridge.exchange.get_mailbox for one mailbox, psbridge.exchange.iter_mailboxes for a listing."""

    ARGUMENT_SPEC = dict(EXO_SPEC, **{
        "identity": {"type": "str"},
        "filter": {"type": "str"},
        "result_size": {"type": "str", "default": "Unlimited"},
        "cloud_managed": {"type": "bool"},
    })
    MUTUALLY_EXCLUSIVE = [["identity", "filter"], ["identity", "cloud_managed"]]

    def act(self, targets, session, params):
        from psbridge import exchange  # pylint: disable=import-outside-toplevel

        sign_in(targets, session, params)
        if params["identity"]:
            mailbox = exchange.get_mailbox(session, identity=params["identity"])
            return {"changed": False, "mailbox": model_result(mailbox)}
        listing = exchange.iter_mailboxes(session, opath=params["filter"], result_size=params["result_size"],
                                          cloud_managed=params["cloud_managed"])
        mailboxes = model_result(list(listing))
        return {"changed": False, "mailboxes": mailboxes, "count": len(mailboxes), "truncated": listing.truncated}
