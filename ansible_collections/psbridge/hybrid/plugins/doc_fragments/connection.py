# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The connection options of every psbridge.hybrid module (plugins/module_utils/connection.py CONNECTION_SPEC)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """psbridge.hybrid.connection: how a task reaches its Windows host, and what every task shares."""

    DOCUMENTATION = r"""
options:
  host:
    description:
      - The Windows host to reach over WinRM/PSRP.
      - Defaults to the inventory host's C(ansible_psrp_host), else C(ansible_host), else its inventory name.
    type: str
  port:
    description:
      - The WinRM port. psbridge's default is 5986 with TLS, 5985 without.
      - Defaults to C(ansible_psrp_port), else C(ansible_port).
    type: int
  tls:
    description:
      - Whether to use HTTPS. psbridge's default is V(true).
      - Defaults to what C(ansible_psrp_protocol) says, else V(false) when the port is 5985 (as the psrp connection plugin does).
    type: bool
  cert_validation:
    description:
      - Whether to validate the host's TLS certificate. psbridge's default is V(true).
      - C(ansible_psrp_cert_validation=ignore) on the host turns it off.
    type: bool
  ca_file:
    description:
      - A PEM file of the CA certificates to validate the host's certificate with.
      - Defaults to C(ansible_psrp_ca_cert), else C(ansible_psrp_cert_trust_path).
    type: path
  auth:
    description:
      - How to authenticate. psbridge's default is V(negotiate).
      - Defaults to C(ansible_psrp_auth).
      - V(basic) over plain HTTP is refused unless the host is loopback.
    type: str
    choices: [negotiate, ntlm, kerberos, credssp, basic, certificate]
  username:
    description:
      - The account to sign in as.
      - Defaults to C(ansible_psrp_user), else C(ansible_user).
    type: str
  password:
    description:
      - The account's password. It never appears in a result, in psbridge's logs or in an error message.
      - Defaults to C(ansible_password), else C(ansible_winrm_pass), else C(ansible_winrm_password).
      - With O(target), defaults to the environment variable the target names in C(password_env), else E(PSBRIDGE_PASSWORD).
    type: str
  encryption:
    description:
      - WinRM message encryption. psbridge's default is V(auto) (encrypt over HTTP, not over HTTPS).
      - Defaults to C(ansible_psrp_message_encryption).
    type: str
    choices: [auto, always, never]
  configuration_name:
    description:
      - The PowerShell session configuration (endpoint). psbridge's default is C(Microsoft.PowerShell).
      - Defaults to C(ansible_psrp_configuration_name).
    type: str
  path:
    description:
      - The URL path of the WinRM endpoint. psbridge's default is C(wsman).
      - Defaults to C(ansible_psrp_path).
    type: str
  operation_timeout:
    description:
      - The WSMan operation timeout, in seconds. Defaults to C(ansible_psrp_operation_timeout), else psbridge's 20.
    type: int
  read_timeout:
    description:
      - The HTTP read timeout, in seconds; must exceed O(operation_timeout).
      - Defaults to C(ansible_psrp_read_timeout), else psbridge's 30.
    type: int
  connection_timeout:
    description:
      - The TCP connection timeout, in seconds. Defaults to C(ansible_psrp_connection_timeout), else psbridge's 30.
    type: int
  timeout:
    description:
      - The deadline of each call psbridge makes, in seconds (psbridge's default is 120).
    type: float
  config:
    description:
      - psbridge's config file, read when O(target) is given.
      - Defaults to E(PSBRIDGE_CONFIG), else the per-user file C(~/.config/psbridge/config.toml).
    type: path
  target:
    description:
      - The name (or role) of a target in psbridge's config file. Its settings replace the host's variables;
        the options given to the task still win over them.
    type: str
  replay:
    description:
      - Serve the task from psbridge recordings (a file or a directory of them) instead of a host, for tests and
        demonstrations. Nothing touches the network and the host's variables are not read; give O(host) to
        replay the recordings of one host.
    type: path
notes:
  - The task runs in the controller's Python, which needs psbridge (C(pip install psbridge)). Ansible's own
    connection to the host is not used.
  - Every option above can be set once for a play with C(module_defaults) and the action group
    C(group/psbridge.hybrid.psbridge).
  - A failed task's C(error) result holds the psbridge error class, the exit code the psbridge command line
    would have given and its meaning, whether retrying may help, and the error's fields.
requirements:
  - psbridge (Python library) on the controller
"""
