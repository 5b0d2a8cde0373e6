# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)

# Documentation only: the module is an action plugin (plugins/action/adsync_scheduler.py) that runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: adsync_scheduler
short_description: Bring an Entra Connect Sync server's sync scheduler to a desired state
version_added: 0.1.0
description:
  - Reads the scheduler (Get-ADSyncScheduler), compares it with the settings given and sends Set-ADSyncScheduler
    with only those that differ; nothing is sent when they all match, so a second run reports no change.
  - Settings left out are left as they are. C(SchedulerSuspended) and staging mode are not offered, since
    Microsoft does not support changing them from automation.
options:
  sync_cycle_enabled:
    description: Whether the scheduler runs sync cycles.
    type: bool
  customized_sync_cycle_interval:
    description:
      - The sync cycle interval, a .NET TimeSpan (V(00:40:00)) or ISO 8601 (V(PT40M)); at least the server's
        AllowedSyncCycleInterval.
    type: str
  next_sync_cycle_policy_type:
    description: The kind of the next scheduled cycle.
    type: str
    choices: [Delta, Initial]
  purge_run_history_interval:
    description: How long run history is kept, a TimeSpan (V(7.00:00:00)) or ISO 8601 (V(P7D)).
    type: str
  maintenance_enabled:
    description: Whether the scheduler runs its maintenance tasks.
    type: bool
extends_documentation_fragment:
  - psbridge.hybrid.connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - psbridge.hybrid.attributes
attributes:
  check_mode:
    support: full
    details: psbridge's dry run reads the scheduler and computes the change; nothing is sent.
  diff_mode:
    support: full
seealso:
  - module: psbridge.hybrid.adsync_info
  - name: Entra Connect Sync scheduler
    description: Microsoft's documentation of the scheduler's settings.
    link: https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler
author:
  - psbridge contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Sync every 40 minutes
  psbridge.hybrid.adsync_scheduler:
    sync_cycle_enabled: true
    customized_sync_cycle_interval: "00:40:00"

- name: Pause scheduled cycles during a change window (see the change first with --check --diff)
  psbridge.hybrid.adsync_scheduler:
    sync_cycle_enabled: false
"""

RETURN = r"""
before:
  description: The scheduler as read before any change (as in M(psbridge.hybrid.adsync_info)'s RV(psbridge.hybrid.adsync_info#module:scheduler)).
  returned: success
  type: dict
after:
  description: The scheduler with the changes applied (in check mode, as it would be); the server recomputes the effective interval itself.
  returned: success
  type: dict
"""
