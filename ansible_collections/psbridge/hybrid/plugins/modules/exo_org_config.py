# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)

# Documentation only: the module is an action plugin (plugins/action/exo_org_config.py) that runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: exo_org_config
short_description: Read the Exchange Online organization config, and set the cloud-managed default of new mailboxes
version_added: 0.1.0
description:
  - Reads the organization config (Get-OrganizationConfig), which says whether the Exchange attributes of new dir-synced
    mailboxes are cloud-managed by default.
  - With O(cloud_managed_by_default), brings that tenant default to the state given; it reads it first and sends
    C(Set-OrganizationConfig -ExchangeAttributesCloudManagedByDefault) (or C(-ExchangeAttributesServerManagedByDefault))
    only when it differs, so a second run reports no change. When the tenant does not report its default, the
    switch is sent.
  - Do not make the default cloud-managed while on-premises mailboxes, mail users or remote mailboxes are still
    being created there - new on-premises objects then miss a proper Exchange Online mail user or the address
    list, and the fix needs Microsoft Support. Enabling it returns that warning. The server-managed switch affects
    only future users.
options:
  cloud_managed_by_default:
    description:
      - Whether the Exchange attributes of new dir-synced mailboxes are managed in Exchange Online (V(true)) or
        on-premises (V(false)). Left out, the config is only read.
    type: bool
extends_documentation_fragment:
  - psbridge.hybrid.connection
  - psbridge.hybrid.exo
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - psbridge.hybrid.attributes
attributes:
  check_mode:
    support: full
    details: psbridge's dry run reads the config and computes the change; nothing is sent.
  diff_mode:
    support: full
seealso:
  - module: psbridge.hybrid.exo_cloud_managed
  - name: Set-OrganizationConfig
    description: Microsoft's documentation of the cmdlet, ExchangeAttributesCloudManagedByDefault among its parameters.
    link: https://learn.microsoft.com/en-us/powershell/module/exchange/set-organizationconfig
author:
  - psbridge contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read the tenant default
  psbridge.hybrid.exo_org_config:
    target: exo
  register: org

- name: New mailboxes stay managed on-premises (see the change first with --check --diff)
  psbridge.hybrid.exo_org_config:
    target: exo
    cloud_managed_by_default: false
"""

RETURN = r"""
organization_config:
  description:
    - The organization config (psbridge.exchange.OrganizationConfig); after a change, as it is now (in check mode, as
      it would be).
    - C(cloud_managed_by_default) is null when the tenant reports neither property psbridge reads; C(source_property)
      names the one read.
  returned: always
  type: dict
  sample:
    identity: contoso.onmicrosoft.com
    cloud_managed_by_default: false
    source_property: BlockExchangeProvisioningFromOnPremEnabled
before:
  description: The organization config as read before any change.
  returned: when O(cloud_managed_by_default) is given
  type: dict
after:
  description: The organization config with the change applied (in check mode, as it would be).
  returned: when O(cloud_managed_by_default) is given
  type: dict
"""
