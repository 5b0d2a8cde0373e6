# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)

# Documentation only: the module is an action plugin (plugins/action/exo_mailbox_info.py) that runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: exo_mailbox_info
short_description: Read Exchange Online mailboxes, with where their Exchange attributes are managed
version_added: 0.1.0
description:
  - Reads one Exchange Online mailbox (O(identity)), or lists mailboxes (optionally with an OPATH O(filter)),
    through a Windows jump host signed in to Exchange Online, as psbridge's C(psbridge.exchange) functions return
    them; each mailbox says whether it is synchronized from on-premises (C(is_dir_synced)) and whether its
    Exchange attributes are managed in Exchange Online (C(is_exchange_cloud_managed)).
  - A listing is read page by page on the jump host; C(-ResultSize) is always passed (Get-Mailbox's own default
    stops at 1000).
  - Changes nothing.
options:
  identity:
    description:
      - The mailbox to read; a UPN, GUID or email address (lookups by name or alias are slow).
      - Without it, mailboxes are listed.
    type: str
  filter:
    description:
      - An OPATH filter for the listing (C(Get-Mailbox -Filter)), for example V(IsDirSynced -eq $true).
    type: str
  result_size:
    description:
      - At most this many mailboxes in the listing, a positive number, or V(Unlimited).
      - RV(truncated) says whether more mailboxes match.
    type: str
    default: Unlimited
  cloud_managed:
    description:
      - Keep only the mailboxes whose Exchange attributes are (V(true)) or are not (V(false)) cloud-managed.
    type: bool
extends_documentation_fragment:
  - psbridge.hybrid.connection
  - psbridge.hybrid.exo
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - psbridge.hybrid.attributes
  - psbridge.hybrid.attributes.info
seealso:
  - module: psbridge.hybrid.exo_cloud_managed
  - name: Get-Mailbox
    description: Microsoft's documentation of the cmdlet and its filters.
    link: https://learn.microsoft.com/en-us/powershell/module/exchange/get-mailbox
author:
  - psbridge contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: One mailbox
  psbridge.hybrid.exo_mailbox_info:
    organization: contoso.onmicrosoft.com
    app_id: 6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b
    certificate_thumbprint: 3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B
    identity: alex@contoso.example
  register: alex

- name: Dir-synced mailboxes whose Exchange attributes are still managed on-premises
  psbridge.hybrid.exo_mailbox_info:
    target: exo
    filter: "IsDirSynced -eq $true"
    cloud_managed: false
  register: pending
"""

RETURN = r"""
mailbox:
  description: The mailbox (psbridge.exchange.Mailbox), snake_case.
  returned: when O(identity) is given
  type: dict
  sample:
    identity: Alex Wilber
    user_principal_name: alex@contoso.example
    primary_smtp_address: alex@contoso.example
    recipient_type_details: UserMailbox
    is_dir_synced: true
    is_exchange_cloud_managed: false
mailboxes:
  description: The mailboxes listed, each as RV(mailbox).
  returned: when O(identity) is not given
  type: list
  elements: dict
count:
  description: How many mailboxes RV(mailboxes) holds.
  returned: when O(identity) is not given
  type: int
truncated:
  description: Whether O(result_size) cut the listing short (Exchange says so only in a warning).
  returned: when O(identity) is not given
  type: bool
"""
