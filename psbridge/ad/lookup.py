"""Finding an AD user's distinguished name from what an operator types: a UPN or a DN.

Cloud Sync's provision on demand takes a user's distinguished name, which operators rarely know by heart
(issue 17: "typing a user's DN"). `find_user_dn` sends the query `get_ad_user` sends: a UPN through
-LDAPFilter `(userPrincipalName=...)`, its value escaped as RFC 4515 says and bound as a parameter, never
pasted into PowerShell text (Get-ADUser -Identity does not take UPNs:
https://learn.microsoft.com/powershell/module/activedirectory/get-aduser); a DN through -Identity, which
fails when no user has it.
"""

from __future__ import annotations

from psbridge.ad.functions import _DN, _identity, _user_command
from psbridge.ad.models import ADUser
from psbridge.errors import InputError, ObjectNotFoundError
from psbridge.models import from_output
from psbridge.session import Session


def find_user_dn(session: Session, *, identity: str) -> str:
    """The distinguishedName of the one AD user with this UPN or DN; wraps Get-ADUser -LDAPFilter / -Identity.

    Raises:
        InputError: `identity` is neither a UPN (`name@domain`) nor a DN (`CN=...,DC=...`), or several
            users have the UPN (each DN is named: give the one to use).
        ObjectNotFoundError: no user has it.
    """
    identity = _identity(identity, "user")
    is_dn = bool(_DN.match(identity))
    if not is_dn and "@" not in identity:
        raise InputError(f"a test user is a UPN (adele@contoso.example) or a DN (CN=...,DC=...), not {identity!r}")
    command = _user_command(identity)
    what = "distinguished name" if is_dn else "user principal name"
    try:
        output = session.invoke(command).output
    except ObjectNotFoundError as exc:
        raise _none(session, identity, what, command.display()) from exc
    users = from_output(ADUser, output, command=command.display(), target=session.target)
    if not users:
        raise _none(session, identity, what, command.display())
    if len(users) > 1:
        found = "; ".join(u.distinguished_name for u in users)
        raise InputError(
            f"{len(users)} AD users on {session.target} have the {what} {identity!r}: {found}; give the DN of the one "
            "to use",
            target=session.target,
        )
    return users[0].distinguished_name


def _none(session: Session, identity: str, what: str, command: str) -> ObjectNotFoundError:
    return ObjectNotFoundError(
        f"no AD user on {session.target} has the {what} {identity!r} (check its spelling, or look it up with "
        "Get-ADUser -Filter)",
        target=session.target, command=command, target_name=identity,
    )  # fmt: skip
