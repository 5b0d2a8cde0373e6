# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""How a psbridge.hybrid task reaches its Windows host: one argument spec, and one way to open the session.

The connection options mirror psbridge's target settings (psbridge.options.ConnectionOptions, the config file's
[targets.NAME] keys). Where a task says nothing, the value comes from, in this order:

1. the task's own options (`module_defaults` for the group `psbridge.hybrid.psbridge` sets them for every task);
2. with `target`: that target of psbridge's config file (`config`, else $PSBRIDGE_CONFIG, else the per-user
   file), exactly as `psbridge --target NAME` reads it (its password from the variable it names in
   `password_env`, else PSBRIDGE_PASSWORD, in the controller's environment);
3. otherwise the inventory host's own connection variables, those of Ansible's psrp connection plugin:
   ansible_psrp_host / ansible_host / inventory_hostname, ansible_psrp_port / ansible_port, ansible_psrp_protocol,
   ansible_psrp_user / ansible_user, ansible_password / ansible_winrm_pass / ansible_winrm_password,
   ansible_psrp_auth, ansible_psrp_cert_validation, ansible_psrp_ca_cert / ansible_psrp_cert_trust_path,
   ansible_psrp_message_encryption, ansible_psrp_path, ansible_psrp_configuration_name and the
   ansible_psrp_*_timeout variables;
4. psbridge's defaults (HTTPS on 5986 with certificate validation, Negotiate, Microsoft.PowerShell).

`replay` serves the task from psbridge recordings instead of a host (a file, or a directory of them): nothing
touches the network, and the host variables are not read (give `host` to pick the recordings of one host).
"""

from __future__ import annotations

from pathlib import Path

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import HAS_PSBRIDGE

if HAS_PSBRIDGE:
    from psbridge.config import Config, load_config, needs_password
    from psbridge.errors import InputError
    from psbridge.logs import protect
    from psbridge.options import ConnectionOptions
    from psbridge.targets import Targets

AUTHS = ["negotiate", "ntlm", "kerberos", "credssp", "basic", "certificate"]

# The options every psbridge.hybrid module takes (doc fragment: psbridge.hybrid.connection). None means "not
# given", so that a target's settings, the host's variables or psbridge's defaults apply.
CONNECTION_SPEC = {
    "host": {"type": "str"},
    "port": {"type": "int"},
    "tls": {"type": "bool"},
    "cert_validation": {"type": "bool"},
    "ca_file": {"type": "path"},
    "auth": {"type": "str", "choices": AUTHS},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "encryption": {"type": "str", "choices": ["auto", "always", "never"]},
    "configuration_name": {"type": "str"},
    "path": {"type": "str"},
    "operation_timeout": {"type": "int"},
    "read_timeout": {"type": "int"},
    "connection_timeout": {"type": "int"},
    "timeout": {"type": "float"},
    "config": {"type": "path"},
    "target": {"type": "str"},
    "replay": {"type": "path"},
}

# ConnectionOptions fields a task may set directly (ca_file and cert_validation are merged below).
_DIRECT = ("host", "port", "tls", "auth", "username", "password", "encryption", "configuration_name", "path",
           "operation_timeout", "read_timeout", "connection_timeout")

# Host variables of Ansible's psrp connection plugin, first found wins, for each ConnectionOptions field.
HOST_VARS = {
    "host": ("ansible_psrp_host", "ansible_host", "inventory_hostname"),
    "port": ("ansible_psrp_port", "ansible_port"),
    "username": ("ansible_psrp_user", "ansible_user"),
    "password": ("ansible_password", "ansible_winrm_pass", "ansible_winrm_password"),
    "auth": ("ansible_psrp_auth",),
    "encryption": ("ansible_psrp_message_encryption",),
    "path": ("ansible_psrp_path",),
    "configuration_name": ("ansible_psrp_configuration_name",),
    "operation_timeout": ("ansible_psrp_operation_timeout",),
    "read_timeout": ("ansible_psrp_read_timeout",),
    "connection_timeout": ("ansible_psrp_connection_timeout",),
    "protocol": ("ansible_psrp_protocol",),
    "cert_validation": ("ansible_psrp_cert_validation",),
    "ca_cert": ("ansible_psrp_ca_cert", "ansible_psrp_cert_trust_path"),
}

# How a task with `target` may give the password its target's password_env does not (psbridge's error ends so).
TARGET_PASSWORD_HINT = "or give the task's password: the host's ansible_password is not read with target"

# Every variable name in HOST_VARS: what the action plugin templates and hands to `host_values`.
HOST_VAR_NAMES = sorted({name for names in HOST_VARS.values() for name in names})


def task_values(params):
    """The ConnectionOptions fields the task's own options set (None means not given)."""
    values = {name: params[name] for name in _DIRECT if params.get(name) is not None}
    if params.get("ca_file"):
        values["cert_validation"] = params["ca_file"]
    elif params.get("cert_validation") is not None:
        values["cert_validation"] = params["cert_validation"]
    return values


def host_values(host_vars):
    """ConnectionOptions fields from an inventory host's psrp connection variables (see the module docstring)."""
    found = {}
    for field, names in HOST_VARS.items():
        for name in names:
            if host_vars.get(name) not in (None, ""):
                found[field] = host_vars[name]
                break
    values = {k: v for k, v in found.items() if k not in ("protocol", "cert_validation", "ca_cert")}
    for field in ("port", "operation_timeout", "read_timeout", "connection_timeout"):
        if field in values:
            values[field] = int(values[field])
    protocol = str(found.get("protocol", "")).lower()
    if protocol in ("http", "https"):
        values["tls"] = protocol == "https"
    elif values.get("port") == 5985:  # the psrp plugin's rule: HTTPS unless the port is 5985
        values["tls"] = False
    if str(found.get("cert_validation", "")).lower() == "ignore":
        values["cert_validation"] = False
    elif found.get("ca_cert"):
        values["cert_validation"] = str(found["ca_cert"])
    return values


def session_name(params, host_vars):
    """The name a session is known by in psbridge's logs and errors: the target, else the inventory host."""
    return params.get("target") or host_vars.get("inventory_hostname") or "ansible"


def task_targets(params, **extra):
    """A psbridge Targets for this task: the config file's with `target` (its password, an Exchange Online
    sign-in, a jump host, as psbridge opens them), else one of no file; `extra` are more of its arguments
    (a Graph app's credentials). The caller closes it."""
    timeout = params.get("timeout")
    if params.get("target"):
        targets = Targets(load_config(params.get("config")), replay=params.get("replay"), prompt=False,
                          timeout=timeout, **extra)
        targets.password_hint = TARGET_PASSWORD_HINT
        return targets
    return Targets(Config(Path(_NO_CONFIG), "ansible", exists=False), replay=params.get("replay"), prompt=False,
                   timeout=timeout, **extra)


def open_session(targets, params, host_vars):
    """(session, secrets): the task's session from `targets` (`task_targets`), opened as the module docstring
    says, and the secrets to keep out of every result."""
    timeout = params.get("timeout")
    given = task_values(params)
    if params.get("target"):
        session = targets.session(params["target"], overrides=given)
        return session, session.options.secrets() if session.options is not None else []
    name = session_name(params, host_vars)
    if params.get("replay"):  # the recordings' own endpoint, or those of the host given
        options = _options(given) if given.get("host") else None
    else:
        values = host_values(host_vars)
        values.update(given)
        options = _options(values)
    session = targets.adopt(name, targets.connect(options, name=name, timeout=timeout))
    return session, options.secrets() if options is not None else []


def _options(values):
    """ConnectionOptions from the merged values; the password is protected in psbridge's logs from now on."""
    password = values.get("password")
    if password:
        protect([str(password)])
    elif needs_password(values):
        raise InputError("no password for %s@%s: give password, or the host's ansible_password"
                         % (values.get("username"), values.get("host")))
    return ConnectionOptions.build(**values)


_NO_CONFIG = "<no psbridge config file: the task's options and the host's variables>"
