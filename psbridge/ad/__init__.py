"""Active Directory wrappers (the ActiveDirectory module, on the `dc` target)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.ad.functions import add_group_member as add_group_member
    from psbridge.ad.functions import get_ad_group as get_ad_group
    from psbridge.ad.functions import get_ad_user as get_ad_user
    from psbridge.ad.functions import get_group_members as get_group_members
    from psbridge.ad.functions import get_organizational_unit as get_organizational_unit
    from psbridge.ad.functions import is_group_member as is_group_member
    from psbridge.ad.functions import remove_group_member as remove_group_member
    from psbridge.ad.lookup import find_user_dn as find_user_dn
    from psbridge.ad.models import ADGroup as ADGroup
    from psbridge.ad.models import ADObject as ADObject
    from psbridge.ad.models import ADPrincipal as ADPrincipal
    from psbridge.ad.models import ADUser as ADUser
    from psbridge.ad.models import GroupMembership as GroupMembership
    from psbridge.ad.models import OrganizationalUnit as OrganizationalUnit
    from psbridge.ad.models import OUCheck as OUCheck
    from psbridge.ad.scope import check_ous as check_ous

__getattr__, __dir__ = _lazy.exporter(__name__, globals())
