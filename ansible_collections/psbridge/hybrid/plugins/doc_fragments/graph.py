# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The Cloud Sync backend and Microsoft Graph options (plugins/module_utils/graph.py GRAPH_SPEC)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """psbridge.hybrid.graph: how a task reaches Entra Cloud Sync, over Microsoft Graph or AADCloudSyncTools."""

    DOCUMENTATION = r"""
options:
  via:
    description:
      - How to reach Entra Cloud Sync. V(graph) is Microsoft Graph's synchronization API, app-only (with a
        certificate or a client secret), which is what unattended runs need; the task's connection options are
        then not used.
      - V(psrp) is the AADCloudSyncTools PowerShell module on the provisioning-agent server the task's connection
        reaches. The module must be signed in within the same PowerShell session, with a device code, which a task
        cannot do unattended; on a live host it fails with C(NotConnectedError).
      - Defaults to E(PSBRIDGE_CLOUDSYNC_VIA), else C(via) in the C([cloudsync]) table of psbridge's config file
        (with O(target)), else V(graph) when Graph credentials are given or configured (or, with O(replay), when
        the recordings hold Graph answers), else V(psrp); as the psbridge command line chooses.
    type: str
    choices: [graph, psrp]
  tenant_id:
    description:
      - Graph app-only. The tenant, a GUID or a verified domain name.
      - Defaults to E(PSBRIDGE_GRAPH_TENANT_ID), else C(tenant_id) in the C([graph]) table of psbridge's config file.
    type: str
  client_id:
    description:
      - Graph app-only. The application (client) id of the app registration.
      - Defaults to E(PSBRIDGE_GRAPH_CLIENT_ID), else the C([graph]) table's C(client_id).
    type: str
  certificate:
    description:
      - Graph app-only. The app's certificate, a PEM file holding the certificate and its private key, or a PFX/P12.
      - Defaults to E(PSBRIDGE_GRAPH_CERTIFICATE), else the C([graph]) table's C(certificate). Without a
        certificate, the app signs in with its client secret.
    type: path
  certificate_password:
    description:
      - Graph app-only. The password of O(certificate). It never appears in a result or in psbridge's logs.
      - Defaults to the controller's E(PSBRIDGE_GRAPH_CERT_PASSWORD) (or the variable the C([graph]) table names).
    type: str
  client_secret:
    description:
      - Graph app-only, without a certificate. The app's client secret. It never appears in a result or in
        psbridge's logs.
      - Defaults to the controller's E(PSBRIDGE_GRAPH_CLIENT_SECRET) (or the variable the C([graph]) table names).
    type: str
notes:
  - With O(via=graph) the app needs C(Synchronization.Read.All) to read jobs and C(Synchronization.ReadWrite.All) to
    control them (Microsoft Graph permissions reference).
  - Given options win one by one over the environment variables; when none of O(tenant_id), O(client_id),
    O(certificate) is given, all three come from the environment, else from psbridge's config file.
"""
