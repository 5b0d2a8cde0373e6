"""AADCloudSyncTools functions psbridge does not run over remoting, and what to do instead."""

from __future__ import annotations

import uuid
from typing import NoReturn

from psbridge.errors import InputError, InteractiveOnlyError
from psbridge.session import Session


def remove_group_members(session: Session, *, group_object_id: str) -> NoReturn:
    """Remove-AADCloudSyncToolsGroupMembers cannot run here: it always raises InteractiveOnlyError.

    The function lists the members of a cloud group that are missing from its AD group, then asks
    "Please confirm to delete above member(s) from the Azure AD group (y/n)" with Read-Host, which a
    remote session cannot answer; answering it for the operator would be a fake confirmation. It also
    needs RSAT ActiveDirectory and a legacy Azure AD Graph token. Nothing is sent to the agent.
    """
    try:
        group = uuid.UUID(group_object_id)  # the suggested command below must hold a GUID and nothing else
    except ValueError:
        raise InputError(f"group_object_id must be a GUID, not {group_object_id!r}") from None
    raise InteractiveOnlyError(
        f"Remove-AADCloudSyncToolsGroupMembers asks for a y/n confirmation with Read-Host, which a remote "
        f"session cannot answer: run `Remove-AADCloudSyncToolsGroupMembers -AADGroupObjectId {group}` "
        f"in an interactive PowerShell session on the agent (for example over RDP)",
        target=session.target,
        command="Remove-AADCloudSyncToolsGroupMembers",
    )
