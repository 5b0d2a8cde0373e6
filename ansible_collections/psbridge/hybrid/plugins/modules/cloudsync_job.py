# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)

# Documentation only: the module is an action plugin (plugins/action/cloudsync_job.py) that runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudsync_job
short_description: Suspend, resume or restart an Entra Cloud Sync job
version_added: 0.1.0
description:
  - Brings an Entra Cloud Sync provisioning job to a state, through Microsoft Graph app-only or through the
    AADCloudSyncTools module on a provisioning-agent server (O(via)).
  - Reads the job first. V(suspended) pauses it unless it is already C(Paused) (then nothing is sent and the task is
    not changed). V(running) starts it only when it is C(Paused) or in quarantine (an C(Active) job is left alone,
    since Microsoft warns that repeated starts can stop the service), so it is not changed otherwise.
  - V(restarted) is an action, not a state a job can already be in, so it B(always) sends a restart and always
    reports a change. Use it once, in a handler or behind a C(when).
  - What is sent is never retried. In check mode psbridge's dry run reads the job and predicts the state; nothing is sent.
options:
  job_id:
    description: The job (C(AD2AADProvisioning.<hex>.<guid>)); an unknown id fails the task with C(ObjectNotFoundError).
    type: str
    required: true
  state:
    description: What to do with the job.
    type: str
    choices: [restarted, running, suspended]
    required: true
  scope:
    description:
      - With V(restarted), the reset scope. V(Full), or any of V(Watermark), V(Escrows), V(QuarantineState),
        V(ForceDeletes); an empty list is what the Entra admin center's "Restart provisioning" sends.
      - Defaults to V(Full). Any other scope needs O(via=graph) (AADCloudSyncTools always resets Full).
    type: list
    elements: str
  confirm_force_deletes:
    description:
      - With a O(scope) that holds V(ForceDeletes), which deletes the objects the deletion threshold held back,
        confirms it. Without it such a restart fails with C(InputError) before anything is sent.
    type: bool
    default: false
  wait_for:
    description:
      - After the action, poll the job until its status code is this one; the task fails when it is not reached
        within O(deadline).
    type: str
    choices: [NotConfigured, NotRun, Active, Paused, Quarantine]
  deadline:
    description: With O(wait_for), how long to wait, in seconds.
    type: float
    default: 300.0
  poll:
    description: With O(wait_for), the seconds between polls.
    type: float
    default: 10.0
extends_documentation_fragment:
  - psbridge.hybrid.connection
  - psbridge.hybrid.graph
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - psbridge.hybrid.attributes
attributes:
  check_mode:
    support: full
    details: psbridge's dry run reads the job and predicts its state after the action; nothing is sent.
  diff_mode:
    support: full
seealso:
  - module: psbridge.hybrid.cloudsync_job_info
  - name: Restart a synchronization job
    description: Microsoft Graph's restart and its reset scopes.
    link: https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-restart
  - name: Start a synchronization job
    description: Microsoft Graph's start, which resumes a paused or quarantined job.
    link: https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start
author:
  - psbridge contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Pause a job during a change window (a second run changes nothing)
  psbridge.hybrid.cloudsync_job:
    job_id: AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60
    state: suspended
    wait_for: Paused
  delegate_to: localhost

- name: Resume it afterwards
  psbridge.hybrid.cloudsync_job:
    job_id: AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60
    state: running

- name: Out of quarantine, keeping the watermark (always a change)
  psbridge.hybrid.cloudsync_job:
    job_id: AD2AADProvisioning.d41e7a3c9b2f4e6a8c5d1f0b7e9a2c35.9b1e4c7a-2d5f-4a8e-b3c6-7f0d2e9a5b14
    state: restarted
    scope: [QuarantineState, Escrows]
    via: graph
"""

RETURN = r"""
via:
  description: The backend that acted.
  returned: success
  type: str
  sample: graph
action:
  description: What was (or, in check mode, would be) sent, V(suspend), V(resume) or V(restart).
  returned: success
  type: str
before:
  description:
    - The job's status as read first (as in M(psbridge.hybrid.cloudsync_job_info)'s
      RV(psbridge.hybrid.cloudsync_job_info#module:status)).
    - Null for a restart through AADCloudSyncTools, which does not read first.
  returned: success
  type: dict
after:
  description:
    - The job's status read back after the action (after the wait, with O(wait_for)); in check mode, the predicted status.
  returned: success
  type: dict
note:
  description: What was sent, or why nothing was.
  returned: success
  type: str
  sample: "sent POST .../jobs/AD2AADProvisioning.8c2f.../pause"
reset_scope:
  description: With V(restarted) over Graph, the reset scope sent.
  returned: success
  type: str
wait_for:
  description: The status code waited for.
  returned: success
  type: str
reached:
  description: With O(wait_for), whether the job reached it before the deadline.
  returned: success
  type: bool
"""
