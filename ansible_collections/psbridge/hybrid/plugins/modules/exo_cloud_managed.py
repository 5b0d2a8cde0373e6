# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)

# Documentation only: the module is an action plugin (plugins/action/exo_cloud_managed.py) that runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: exo_cloud_managed
short_description: Manage the Exchange attributes of dir-synced mailboxes in Exchange Online, or back on-premises
version_added: 0.1.0
description:
  - Brings C(IsExchangeCloudManaged) of one mailbox (O(identity)) or many (O(identities)) to the state O(enabled)
    gives. V(true) moves a dir-synced mailbox's Exchange attributes to Exchange Online; V(false) moves them back to
    on-premises AD, and the next sync then overwrites cloud values from AD. Identity attributes stay in AD.
  - One mailbox is read first and switched only when it differs (C(Set-Mailbox -IsExchangeCloudManaged)).
    Enabling it on a mailbox that is not synchronized from on-premises is refused.
  - Many mailboxes go through psbridge's batched rollout, in batches of O(batch_size), each read first on the jump
    host (a mailbox already in the desired state is never written), the others written at O(pace), every outcome
    recorded in a journal on the controller (O(journal)) before the next batch. A run that was stopped is resumed
    by running the task again with the same journal; a re-run reads again the mailboxes the journal says are
    switched, and one found back in the old state (C(Reverted)) is reported, not switched again (give another
    journal to switch it again). Transient failures (throttling, a domain-controller change, a replication delay)
    are retried after O(retry_wait).
  - The task fails when any mailbox failed, is unfinished or was reverted; RV(mailboxes) holds each one's outcome
    and error class, RV(error) the class of the first. The mailboxes that did switch stay switched and the
    journal records them.
  - Switch a mailbox only a sync cycle plus 24 hours after its last on-premises C(Set-RemoteMailbox).
options:
  identity:
    description:
      - One mailbox, a UPN, GUID or email address.
    type: str
  identities:
    description:
      - Many mailboxes (UPNs or GUIDs preferred), switched by the batched, journaled rollout; duplicates (by case)
        count once. A list of one is a rollout too.
    type: list
    elements: str
  enabled:
    description:
      - The desired C(IsExchangeCloudManaged).
    type: bool
    required: true
  journal:
    description:
      - The rollout's journal on the controller, a JSON-lines file, created if missing; run again with the same one
        to resume. It is written for one target, tenant and direction; another rollout needs another file.
      - Defaults to C(~/.ansible/psbridge/journals/<target or inventory host>/<organization>-cloud-managed-<true|false>.jsonl)
        (C(tenant) when no organization is known), so each host, tenant and direction has its own; its folder is
        created readable by its owner only.
      - Not used with O(identity).
    type: path
  batch_size:
    description:
      - Mailboxes per pipeline on the jump host. The pipeline that writes a batch also reads the next one, when
        that still fits the batch time budget, so a batch usually costs one pipeline.
    type: int
    default: 200
  pace:
    description:
      - Seconds to pause after each C(Set-Mailbox) on the jump host; Exchange Online's micro-delay warnings raise it.
      - A batch's pauses may take at most half of each batch's deadline (O(timeout) when given, else 15 minutes).
    type: float
    default: 0.5
  retry_wait:
    description:
      - Seconds before the first retry of mailboxes that failed transiently; it doubles each time (at most ten
        times this), with jitter.
    type: float
    default: 30.0
  retry_failed:
    description:
      - Also try again the mailboxes the journal records as failed permanently.
    type: bool
    default: false
extends_documentation_fragment:
  - psbridge.hybrid.connection
  - psbridge.hybrid.exo
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - psbridge.hybrid.attributes
attributes:
  check_mode:
    support: full
    details:
      - One mailbox - psbridge's dry run reads it and computes the change; nothing is sent.
      - Many - the rollout's own dry run reads every mailbox (nothing is written) and reports which would change,
        journaled in a temporary file, never in O(journal); RV(plan) says what O(journal) has done already. A
        mailbox the journal records as failed is read like the others.
  diff_mode:
    support: full
    details: For many mailboxes, one line per mailbox that changes (the first 20, then a count).
seealso:
  - module: psbridge.hybrid.exo_mailbox_info
  - name: Set-Mailbox
    description: Microsoft's documentation of the cmdlet, IsExchangeCloudManaged among its parameters.
    link: https://learn.microsoft.com/en-us/powershell/module/exchange/set-mailbox
author:
  - psbridge contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: One mailbox's Exchange attributes to Exchange Online
  psbridge.hybrid.exo_cloud_managed:
    organization: contoso.onmicrosoft.com
    app_id: 6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b
    certificate_thumbprint: 3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B
    identity: alex@contoso.example
    enabled: true

- name: A department, in batches, resumably (the journal stays on the controller)
  psbridge.hybrid.exo_cloud_managed:
    target: exo
    identities: "{{ lookup('ansible.builtin.file', 'sales-mailboxes.txt').splitlines() }}"
    enabled: true
    journal: "{{ playbook_dir }}/journals/{{ inventory_hostname }}-sales.jsonl"
  register: rollout

- name: What the rollout did
  ansible.builtin.debug:
    msg: "{{ rollout.counts }}"
"""

RETURN = r"""
enabled:
  description: The desired C(IsExchangeCloudManaged).
  returned: success or failure of a mailbox
  type: bool
mailboxes:
  description:
    - Every mailbox's outcome, in the order given. C(outcome) is C(Changed), C(AlreadySet), C(WouldChange) (check
      mode), C(Failed), C(Unfinished) (transient failures outlasted their retries) or C(Reverted).
    - For many mailboxes, also C(attempts), C(error_class) (the psbridge error class), C(error_type),
      C(error_message) and C(from_journal) (an earlier run finished it).
  returned: success or failure of a mailbox
  type: list
  elements: dict
  sample:
    - identity: nestor@contoso.example
      outcome: Changed
      before: false
      attempts: 1
      error_class: null
      from_journal: false
before:
  description: The mailbox as read before any change (one mailbox).
  returned: when O(identity) is given
  type: dict
after:
  description: The mailbox with the change applied (in check mode, as it would be).
  returned: when O(identity) is given
  type: dict
counts:
  description:
    - How many mailboxes this run changed, found already set, would change (check mode), failed, left unfinished
      or found reverted; C(skipped) counts those an earlier run finished (the journal's); C(total), all of them.
  returned: when O(identities) is given
  type: dict
  sample: {total: 4, changed: 3, already_set: 1, would_change: 0, failed: 0, unfinished: 0, reverted: 0, skipped: 0}
journal:
  description: The journal used.
  returned: when O(identities) is given
  type: str
batches:
  description: Pipelines sent to the jump host (reads and writes).
  returned: when O(identities) is given
  type: int
retried:
  description: Mailboxes retried after a transient failure.
  returned: when O(identities) is given
  type: int
micro_delays:
  description: Micro-delay warnings Exchange Online gave.
  returned: when O(identities) is given
  type: int
pace_s:
  description: The pace the rollout ended with, in seconds.
  returned: when O(identities) is given
  type: float
plan:
  description: What the rollout would do with O(journal), before reading any mailbox (psbridge.exchange.RolloutPlan).
  returned: in check mode, when O(identities) is given
  type: dict
error:
  description:
    - Why the task failed. For mailboxes that did not reach the state, C(error) is the error class of the first,
      C(mailboxes) lists them, C(exit_code) is 1 (the psbridge command line's); otherwise as every psbridge.hybrid
      module reports a psbridge error.
  returned: failure
  type: dict
"""
