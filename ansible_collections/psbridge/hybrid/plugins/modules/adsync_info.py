# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)

# Documentation only: the module is an action plugin (plugins/action/adsync_info.py) that runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: adsync_info
short_description: Read an Entra Connect Sync server's version, scheduler, run status and global settings
version_added: 0.1.0
description:
  - Reads an Entra Connect Sync server through psbridge (the ADSync module over PowerShell Remoting) and returns
    its version checked against a minimum with Microsoft's lifecycle notes, its sync scheduler, the connectors
    running now, and the sync engine's global settings.
  - Changes nothing.
options:
  gather:
    description:
      - What to read.
    type: list
    elements: str
    choices: [version, scheduler, run_status, global_settings]
    default: [version, scheduler, run_status, global_settings]
  minimum:
    description:
      - The lowest acceptable version (four parts). psbridge's default is the oldest build Microsoft still supports.
    type: str
  cloud_managed_minimum:
    description:
      - The floor for cloud-managed Exchange attributes; public sources disagree (2.5.76.0 or 2.5.190.0), and
        psbridge's default is the stricter one.
    type: str
extends_documentation_fragment:
  - psbridge.hybrid.connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - psbridge.hybrid.attributes
  - psbridge.hybrid.attributes.info
seealso:
  - module: psbridge.hybrid.adsync_scheduler
  - name: Get-ADSyncScheduler
    description: Microsoft's documentation of the Connect Sync scheduler.
    link: https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler
author:
  - psbridge contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check every Connect server's version and scheduler
  psbridge.hybrid.adsync_info:
    gather: [version, scheduler]
    minimum: 2.5.79.0
  register: connect

- name: Fail the hosts that are too old
  ansible.builtin.assert:
    that: connect.version.meets_minimum
    fail_msg: "{{ inventory_hostname }} runs {{ connect.version.version }}"

- name: Read a target of psbridge's config file
  psbridge.hybrid.adsync_info:
    target: connect
    gather: [global_settings]
"""

RETURN = r"""
version:
  description: The installed version against the minimum (psbridge.adsync.VersionCheck).
  returned: when O(gather) has V(version)
  type: dict
  contains:
    version:
      description: The server configuration version.
      type: str
      sample: 2.5.190.0
    minimum:
      description: The minimum it was compared with.
      type: str
      sample: 2.5.79.0
    meets_minimum:
      description: Whether the version is at least the minimum.
      type: bool
    cloud_managed_minimum:
      description: The floor for cloud-managed Exchange attributes.
      type: str
    notes:
      description: Microsoft's lifecycle notes for this version (id, severity, message).
      type: list
      elements: dict
    target:
      description: The host (or recordings) read.
      type: str
scheduler:
  description: The sync scheduler's settings and state (Get-ADSyncScheduler), snake_case; TimeSpans in ISO 8601.
  returned: when O(gather) has V(scheduler)
  type: dict
  sample:
    sync_cycle_enabled: true
    customized_sync_cycle_interval: null
    allowed_sync_cycle_interval: PT30M
    next_sync_cycle_policy_type: Delta
    staging_mode_enabled: false
run_status:
  description: The connectors running right now; empty when the sync engine is idle.
  returned: when O(gather) has V(run_status)
  type: list
  elements: dict
global_settings:
  description: The sync engine's global settings, typed features first, then every parameter.
  returned: when O(gather) has V(global_settings)
  type: dict
"""
