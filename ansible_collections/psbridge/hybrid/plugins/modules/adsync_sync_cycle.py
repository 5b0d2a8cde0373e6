# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)

# Documentation only: the module is an action plugin (plugins/action/adsync_sync_cycle.py) that runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: adsync_sync_cycle
short_description: Start an Entra Connect Sync cycle, and optionally wait for it to end
version_added: 0.1.0
description:
  - Starts a delta or initial sync cycle on an Entra Connect Sync server (psbridge's start sequence around
    Start-ADSyncSyncCycle), unless the scheduler refuses it.
  - A cycle already in progress, a disabled scheduler or a suspended one is reported (RV(started=false) and
    RV(reason)), not an error; the task is then not changed. A busy connector is an error (C(ConnectorBusyError)).
  - The task is changed when a cycle was started. Starting a cycle is not idempotent, so every run that starts one
    reports a change.
  - In check mode psbridge's dry run reads the scheduler and says whether a cycle would start; nothing is sent.
options:
  policy_type:
    description: The kind of cycle. V(Initial) is a full import and synchronization.
    type: str
    choices: [Delta, Initial]
    default: Delta
  wait:
    description:
      - Wait until the cycle is over, polling the scheduler and the connectors' run status.
      - The task fails when the cycle is not seen to end within O(deadline); the cycle keeps running.
    type: bool
    default: false
  deadline:
    description: With O(wait), how long to wait, in seconds.
    type: float
    default: 3600.0
  poll:
    description: With O(wait), the seconds between polls.
    type: float
    default: 15.0
extends_documentation_fragment:
  - psbridge.hybrid.connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - psbridge.hybrid.attributes
attributes:
  check_mode:
    support: full
    details: psbridge's dry run reads the scheduler and says whether a cycle would start; nothing is sent.
  diff_mode:
    support: none
seealso:
  - module: psbridge.hybrid.adsync_scheduler
  - module: psbridge.hybrid.adsync_info
  - name: Entra Connect Sync scheduler
    description: Microsoft's documentation of Start-ADSyncSyncCycle and the scheduler.
    link: https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler
author:
  - psbridge contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Start a delta cycle and wait up to 30 minutes for it
  psbridge.hybrid.adsync_sync_cycle:
    wait: true
    deadline: 1800
  register: cycle

- name: Say when the server was already busy
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: not started ({{ cycle.reason }})"
  when: not cycle.started

- name: An initial cycle after a rule change
  psbridge.hybrid.adsync_sync_cycle:
    policy_type: Initial
"""

RETURN = r"""
started:
  description: Whether a cycle was started (always V(false) in check mode).
  returned: success
  type: bool
would_change:
  description: In check mode, whether a cycle would start.
  returned: success
  type: bool
  sample: true
reason:
  description: Why no cycle was started, V(SyncCycleDisabled), V(SchedulerSuspended) or V(InProgress); null when one was (or would be).
  returned: success
  type: str
result:
  description: The scheduler's operation result (C(Success) when a cycle started).
  returned: success
  type: str
policy_type:
  description: The kind of cycle asked for.
  returned: success
  type: str
  sample: Delta
staging_mode_enabled:
  description: Whether the server is in staging mode (a cycle then imports and synchronizes but never exports).
  returned: success
  type: bool
next_sync_cycle_start_time_in_utc:
  description: The scheduler's next scheduled cycle, ISO 8601.
  returned: success
  type: str
dry_run:
  description: Whether this was psbridge's dry run (check mode).
  returned: success
  type: bool
finished:
  description: With O(wait), whether the cycle was seen to end before O(deadline); null without a wait.
  returned: success
  type: bool
"""
