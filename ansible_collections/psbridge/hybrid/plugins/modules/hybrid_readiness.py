# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)

# Documentation only: the module is an action plugin (plugins/action/hybrid_readiness.py) that runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: hybrid_readiness
short_description: Check whether mailboxes can switch to cloud-managed Exchange attributes
version_added: 0.1.0
description:
  - Runs psbridge's cloud-managed readiness runbook (C(psbridge check cloud-managed-readiness)) and returns its
    report, as the RV(report) result and as the fact C(psbridge_readiness).
  - "Five checks: the Connect Sync version against the cloud-managed floor and Microsoft's lifecycle, the Cloud
    Sync agent's version when one writes Exchange attributes back, the tenant's default for new mailboxes,
    dir-synced mailboxes that are cloud-managed or not, and addresses that differ between Exchange Online and
    Exchange Server."
  - "The runbook reads several hosts. The task's own host (its O(target), else the inventory host's connection
    variables) is the Entra Connect Sync server. The other roles are targets of psbridge's config file
    (O(config)): O(exo_target) (the Exchange Online jump host, signed in as its target says), O(exchange_target)
    (Exchange Server, directly or through its C(via) jump host) and, when a Cloud Sync agent is in use,
    O(cloudsync_agent_target); each defaults to the config's target of that role. With O(replay), every role is
    served from the recordings."
  - Changes nothing. What the checks find does not fail the task unless O(fail_on) says so; a host that cannot be
    reached, or bad input, fails it with the psbridge error class.
options:
  exo_target:
    description: The config file's target (name or role) to read Exchange Online through. Defaults to its C(exo) target.
    type: str
  exchange_target:
    description: The config file's target (name or role) of Exchange Server. Defaults to its C(exchange) target.
    type: str
  cloudsync_agent_target:
    description:
      - The config file's target (name or role) of the Cloud Sync provisioning agent's server. Defaults to its
        C(cloudsync-agent) target.
    type: str
  cloud_sync:
    description:
      - Whether a Cloud Sync agent writes Exchange attributes back, so that its version is checked.
      - Defaults to whether O(cloudsync_agent_target) is given or the config file has a C(cloudsync-agent) target.
    type: bool
  via_jump_host:
    description:
      - Read Exchange Server through the Exchange Online jump host (C(-OnPremises) cmdlets there).
      - Defaults to whether the exchange target has C(via).
    type: bool
  minimum:
    description:
      - The Connect Sync floor for cloud-managed mailboxes. Public sources disagree (2.5.76.0 or 2.5.190.0);
        psbridge's default is the stricter one.
    type: str
  as_of:
    description:
      - The date (V(YYYY-MM-DD)) Connect's end of support is judged on. Defaults to today; with O(replay), the day the
        recordings were made.
    type: str
  fail_on:
    description:
      - When the report fails the task. V(never) (the report is returned whatever it says), V(fail) (a check
        failed) or V(warn) (a check warned or failed).
    type: str
    choices: [never, fail, warn]
    default: never
extends_documentation_fragment:
  - psbridge.hybrid.connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - psbridge.hybrid.attributes
  - psbridge.hybrid.attributes.info
seealso:
  - module: psbridge.hybrid.adsync_info
  - name: Set-Mailbox
    description: Exchange Online's Set-Mailbox, whose IsExchangeCloudManaged switches a mailbox's Exchange attributes to the cloud.
    link: https://learn.microsoft.com/powershell/module/exchange/set-mailbox
author:
  - psbridge contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Readiness, on every Connect server of the inventory; the other roles from psbridge's config file
  psbridge.hybrid.hybrid_readiness:
    config: /etc/psbridge/config.toml
    exo_target: jump01
    exchange_target: ex01
    fail_on: fail
  register: readiness

- name: What to do next
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.summary }} -> {{ item.fix }}"
  loop: "{{ psbridge_readiness.checks | rejectattr('status', 'in', ['pass', 'skip']) }}"

- name: The demo organization's recordings, no network
  psbridge.hybrid.hybrid_readiness:
    replay: recorded_sessions/demo
  delegate_to: localhost
"""

RETURN = r"""
report:
  description: The runbook's report; also set as the fact C(psbridge_readiness).
  returned: success
  type: dict
  contains:
    runbook:
      description: The runbook's name.
      type: str
      sample: cloud-managed-readiness
    subject:
      description: The Exchange Online organization.
      type: str
      sample: contoso.onmicrosoft.com
    status:
      description: The worst status of the checks, V(pass), V(warn) or V(fail) (a skipped check counts as passed).
      type: str
      sample: warn
    checks:
      description: Each check, in the order it ran, with its name, status, one-line summary, evidence, target and fix.
      type: list
      elements: dict
status:
  description: The report's status, V(pass), V(warn) or V(fail).
  returned: success
  type: str
  sample: warn
"""
