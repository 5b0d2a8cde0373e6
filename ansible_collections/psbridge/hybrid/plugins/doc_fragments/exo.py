# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The Exchange Online sign-in options of the exo_* modules (plugins/module_utils/exo.py EXO_SPEC)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """psbridge.hybrid.exo: how the jump host signs in to Exchange Online."""

    DOCUMENTATION = r"""
options:
  organization:
    description:
      - The tenant's primary C(.onmicrosoft.com) domain, for the app-only sign-in to Exchange Online on the jump host
        (C(Connect-ExchangeOnline -Organization)).
      - Required, with O(app_id) and O(certificate_thumbprint) or with O(managed_identity), unless O(target) names
        an C(exo) target of psbridge's config file that declares its own sign-in, or O(replay) is given.
    type: str
  app_id:
    description:
      - The application (client) id of the app registration that has C(Exchange.ManageAsApp) and an Entra role.
    type: str
  certificate_thumbprint:
    description:
      - The thumbprint (40 hexadecimal characters) of the app's certificate in the jump host's certificate store.
        The certificate and its private key stay on the jump host; the thumbprint only names it and is not a secret.
    type: str
  managed_identity:
    description:
      - Sign in as the jump host's managed identity instead of an app and certificate.
    type: bool
    default: false
  managed_identity_account_id:
    description:
      - The user-assigned managed identity to sign in as (with O(managed_identity)).
    type: str
notes:
  - The connection options reach the Windows jump host that has the ExchangeOnlineManagement module; it signs in to
    Exchange Online once per runspace and signs out when the task ends.
  - With O(target), an C(exo) target of psbridge's config file that sets C(organization), C(app_id) and
    C(certificate_thumbprint) (or C(managed_identity)) signs in with them; the task's sign-in options are then refused.
  - The sign-in options can be set once for a play with C(module_defaults) and the action group
    C(group/psbridge.hybrid.exo), which holds the Exchange Online modules only.
seealso:
  - name: App-only authentication in Exchange Online PowerShell
    description: How to register the app and its certificate.
    link: https://learn.microsoft.com/en-us/powershell/exchange/app-only-auth-powershell-v2
"""
