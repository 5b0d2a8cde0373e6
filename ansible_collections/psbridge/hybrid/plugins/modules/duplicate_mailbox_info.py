# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)

# Documentation only: the module is an action plugin (plugins/action/duplicate_mailbox_info.py) that runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: duplicate_mailbox_info
short_description: Diagnose a user with a mailbox on Exchange Server and another in Exchange Online
version_added: 0.1.0
description:
  - Runs psbridge's duplicate-mailbox diagnosis (C(psbridge diagnose duplicate-mailbox)) for one user and returns
    its report, with the user's recipient on each side, whether both hold a mailbox, whether the ExchangeGuids agree
    and whether Exchange Online keeps previous mailbox information.
  - "The diagnosis reads two hosts. The task's own host (its O(target), else the inventory host's connection
    variables) is the Exchange Online jump host; give O(target) naming an C(exo) target of psbridge's config file
    so that its Exchange Online sign-in is made. Exchange Server is the config file's O(exchange_target),
    by default its C(exchange) target (directly, or through the jump host its C(via) names). With O(replay), both
    are served from the recordings."
  - Read-only, and what it finds never fails the task (RV(status) says it); the repair is psbridge's
    C(psbridge repair duplicate-mailbox).
options:
  user:
    description: The user, by user principal name or any identity Exchange accepts.
    type: str
    required: true
  exchange_target:
    description: The config file's target (name or role) of Exchange Server. Defaults to its C(exchange) target.
    type: str
  via_jump_host:
    description:
      - Read Exchange Server through the Exchange Online jump host (C(-OnPremises) cmdlets there).
      - Defaults to whether the exchange target has C(via).
    type: bool
extends_documentation_fragment:
  - psbridge.hybrid.connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - psbridge.hybrid.attributes
  - psbridge.hybrid.attributes.info
seealso:
  - module: psbridge.hybrid.hybrid_readiness
  - name: Set-User
    description: Exchange Online's Set-User, whose PermanentlyClearPreviousMailboxInfo cleans a MailUser that kept a cloud mailbox's information.
    link: https://learn.microsoft.com/powershell/module/exchange/set-user
author:
  - psbridge contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Does Dana have two mailboxes?
  psbridge.hybrid.duplicate_mailbox_info:
    target: jump01
    exchange_target: ex01
    user: dana@contoso.example
  register: dana

- name: Show the checks that did not pass
  ansible.builtin.debug:
    msg: "{{ dana.report.checks | rejectattr('status', 'equalto', 'pass') | list }}"
  when: dana.status != 'pass'
"""

RETURN = r"""
report:
  description: The diagnosis's report.
  returned: success
  type: dict
  contains:
    runbook:
      description: The runbook's name.
      type: str
      sample: duplicate-mailbox
    subject:
      description: The user.
      type: str
    status:
      description: The worst status of the checks, V(pass), V(warn) or V(fail).
      type: str
    checks:
      description: Each check with its name, status, one-line summary, evidence, target and fix.
      type: list
      elements: dict
status:
  description: The report's status, V(pass), V(warn) or V(fail).
  returned: success
  type: str
  sample: fail
"""
