# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)

# Documentation only: the module is an action plugin (plugins/action/cloudsync_job_info.py) that runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudsync_job_info
short_description: Read Entra Cloud Sync jobs, their status, schedules and settings
version_added: 0.1.0
description:
  - Reads the Entra Cloud Sync provisioning jobs of a tenant, through Microsoft Graph app-only or through the
    AADCloudSyncTools module on a provisioning-agent server (O(via)); both return the same data.
  - Changes nothing.
options:
  job_id:
    description:
      - One job (C(AD2AADProvisioning.<hex>.<guid>)); an unknown id fails the task with C(ObjectNotFoundError).
      - Without O(job_id) or O(template), every job.
    type: str
  template:
    description: Only the jobs created from this template (the first part of the job id).
    type: str
    choices: [AD2AADProvisioning, AD2AADPasswordHash, AAD2ADExchangeHybridWriteback]
  gather:
    description: What to read.
    type: list
    elements: str
    choices: [jobs, schedule, settings, status]
    default: [status]
extends_documentation_fragment:
  - psbridge.hybrid.connection
  - psbridge.hybrid.graph
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - psbridge.hybrid.attributes
  - psbridge.hybrid.attributes.info
seealso:
  - module: psbridge.hybrid.cloudsync_job
  - name: synchronizationJob resource type
    description: Microsoft Graph's Cloud Sync job, its status and schedule.
    link: https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationjob
author:
  - psbridge contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Every Cloud Sync job of the tenant, over Microsoft Graph with a certificate
  psbridge.hybrid.cloudsync_job_info:
    via: graph
    tenant_id: contoso.onmicrosoft.com
    client_id: 6f0e1c2d-3b4a-4958-8a7b-6c5d4e3f2a10
    certificate: /etc/psbridge/graph-app.pem
  delegate_to: localhost
  register: cloudsync

- name: Fail when a job is in quarantine
  ansible.builtin.assert:
    that: cloudsync.quarantined | length == 0
    fail_msg: "in quarantine: {{ cloudsync.quarantined | join(', ') }}"

- name: Status and schedule of one job, from the agent server's AADCloudSyncTools
  psbridge.hybrid.cloudsync_job_info:
    via: psrp
    job_id: AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60
    gather: [status, schedule]
"""

RETURN = r"""
via:
  description: The backend that answered.
  returned: success
  type: str
  sample: graph
status:
  description: Each job's status (code, quarantine, last run, last successful run, synchronized counts), snake_case.
  returned: when O(gather) has V(status)
  type: list
  elements: dict
  sample:
    - id: AD2AADProvisioning.8c2f0e5a1d7b4c9e9f3a6b2d5e8c1a47.3f9d2b6e-1c4a-4e8b-9a7d-5c2e8f1b4d60
      code: Active
      quarantine: null
quarantined:
  description: The ids of the jobs in quarantine.
  returned: when O(gather) has V(status)
  type: list
  elements: str
jobs:
  description: Each job's id, template and service principal.
  returned: when O(gather) has V(jobs)
  type: list
  elements: dict
schedule:
  description: Each job's schedule (state, interval).
  returned: when O(gather) has V(schedule)
  type: list
  elements: dict
settings:
  description: Each job's settings (for example C(QuarantineTooManyDeletesThreshold)).
  returned: when O(gather) has V(settings)
  type: list
  elements: dict
"""
