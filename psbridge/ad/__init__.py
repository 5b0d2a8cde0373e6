"""Active Directory wrappers (the ActiveDirectory module, on the `dc` target)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.ad.functions import (
        add_group_member,
        get_ad_group,
        get_ad_user,
        get_group_members,
        get_organizational_unit,
        is_group_member,
        remove_group_member,
    )
    from psbridge.ad.models import (
        ADGroup,
        ADObject,
        ADPrincipal,
        ADUser,
        GroupMembership,
        OrganizationalUnit,
    )

__all__ = [
    "ADGroup",
    "ADObject",
    "ADPrincipal",
    "ADUser",
    "GroupMembership",
    "OrganizationalUnit",
    "add_group_member",
    "get_ad_group",
    "get_ad_user",
    "get_group_members",
    "get_organizational_unit",
    "is_group_member",
    "remove_group_member",
]
_LAZY = {
    "ADGroup": "psbridge.ad.models",
    "ADObject": "psbridge.ad.models",
    "ADPrincipal": "psbridge.ad.models",
    "ADUser": "psbridge.ad.models",
    "GroupMembership": "psbridge.ad.models",
    "OrganizationalUnit": "psbridge.ad.models",
    "add_group_member": "psbridge.ad.functions",
    "get_ad_group": "psbridge.ad.functions",
    "get_ad_user": "psbridge.ad.functions",
    "get_group_members": "psbridge.ad.functions",
    "get_organizational_unit": "psbridge.ad.functions",
    "is_group_member": "psbridge.ad.functions",
    "remove_group_member": "psbridge.ad.functions",
}
__getattr__ = _lazy.exporter(__name__, globals(), _LAZY)
