# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""Entra Cloud Sync for psbridge.hybrid: which backend a task uses, and its Microsoft Graph app-only client.

Cloud Sync is reached two ways (psbridge.cloudsync.backend): `via: graph`, Microsoft Graph app-only, which is
what unattended runs need; or `via: psrp`, AADCloudSyncTools on the provisioning-agent server that the task's
connection reaches, which needs the module signed in within the same PowerShell session (a device code, so
not unattended: a task that is not signed in fails with NotConnectedError). Without `via`, as the psbridge
command line chooses: PSBRIDGE_CLOUDSYNC_VIA, else `[cloudsync] via` of psbridge's config file (with
`target`), else `graph` when a Graph is at hand (credentials, or Graph recordings under `replay`), else `psrp`.

Graph credentials mirror psbridge's options and variables: the task's `tenant_id`, `client_id`, `certificate`
(each given one wins over PSBRIDGE_GRAPH_TENANT_ID, PSBRIDGE_GRAPH_CLIENT_ID, PSBRIDGE_GRAPH_CERTIFICATE);
without any of them, those variables, else the config file's `[graph]` table (psbridge.targets.Targets).
The secret: `client_secret` or `certificate_password` (no_log), else the controller's environment variables
psbridge reads (PSBRIDGE_GRAPH_CLIENT_SECRET, PSBRIDGE_GRAPH_CERT_PASSWORD, or those `[graph]` names). A
secret given to the task is handed to MSAL through the environment mapping psbridge's token provider reads,
never through the process environment.
"""

from __future__ import annotations

import os

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import HAS_PSBRIDGE

if HAS_PSBRIDGE:
    from psbridge.config import cloudsync_via_from_env
    from psbridge.errors import InputError

# The options of every task that reaches Cloud Sync (doc fragment: psbridge.hybrid.graph).
GRAPH_SPEC = {
    "via": {"type": "str", "choices": ["graph", "psrp"]},
    "tenant_id": {"type": "str"},
    "client_id": {"type": "str"},
    "certificate": {"type": "path"},
    "certificate_password": {"type": "str", "no_log": True},
    "client_secret": {"type": "str", "no_log": True},
}


def resolve_via(params, targets):
    """`graph` or `psrp`, as the module docstring says."""
    if params.get("via"):
        return params["via"]
    configured = cloudsync_via_from_env()
    if configured is not None:
        return configured
    if targets.config.cloudsync_via is not None:
        return targets.config.cloudsync_via
    return "graph" if _given(params) or targets.has_graph() else "psrp"


def backend(targets, session, via):
    """(a Cloud Sync backend for `via`, the Graph client to close after using it, or None).

    Each call opens its own Graph client: under `replay` a client serves each recorded answer once, and every
    read of the jobs starts by listing them again, so each read gets the recordings afresh."""
    from psbridge.cloudsync.backend import GraphBackend, PsrpBackend  # pylint: disable=import-outside-toplevel

    if via == "psrp":
        return PsrpBackend(session), None
    client = targets.open_graph()
    return GraphBackend(client), client


def targets_arguments(params):
    """The task's Graph app for its psbridge Targets: `graph_credentials` when the task names any part of it
    (the rest from the PSBRIDGE_GRAPH_* variables), and its no_log secret as `graph_secrets`, which psbridge
    hands to MSAL without writing it to the environment. Nothing given: psbridge's own lookup (the variables,
    then the config file's `[graph]` table)."""
    from psbridge.graph.auth import (  # pylint: disable=import-outside-toplevel
        CERTIFICATE_ENV,
        CLIENT_ID_ENV,
        TENANT_ENV,
        GraphCredentials,
    )

    arguments = {}
    if _given(params):
        given = {TENANT_ENV: params.get("tenant_id"), CLIENT_ID_ENV: params.get("client_id"),
                 CERTIFICATE_ENV: params.get("certificate")}
        environ = dict(os.environ)
        environ.update((name, str(value)) for name, value in given.items() if value)
        credentials = GraphCredentials.from_env(environ)
        if credentials is None:
            raise InputError("Microsoft Graph needs both the app's tenant_id and client_id (or "
                             "PSBRIDGE_GRAPH_TENANT_ID and PSBRIDGE_GRAPH_CLIENT_ID)")
        arguments["graph_credentials"] = credentials
    held = {name: params[name] for name in ("client_secret", "certificate_password") if params.get(name)}
    if held:
        arguments["graph_secrets"] = held
    return arguments


def _given(params):
    return any(params.get(name) for name in ("tenant_id", "client_id", "certificate"))
