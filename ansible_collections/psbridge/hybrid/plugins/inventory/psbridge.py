# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The inventory of psbridge's config file: its targets become hosts, their roles become groups."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: psbridge
short_description: The targets of a psbridge config file as hosts, grouped by role
version_added: 0.1.0
author:
  - psbridge contributors (!UNKNOWN)
description:
  - Reads psbridge's config file (the C([targets.NAME]) tables that the C(psbridge) command reads) and makes one
    inventory host per target, named as the target is.
  - Each host joins the group of its role, named after the role with O(group_prefix) before it
    (V(psbridge_connect), V(psbridge_cloudsync_agent), V(psbridge_exo), V(psbridge_exchange), V(psbridge_dc); a
    C(-) becomes C(_)), and every role group is a child of the group V(psbridge).
  - Each host gets C(psbridge_target) (its target's name), C(psbridge_config) (the config file it came from),
    C(psbridge_role) (the role as psbridge writes it), C(ansible_host) (the target's host) and C(ansible_port)
    (the port psbridge connects to, with its role's defaults). No password, secret or other connection setting is
    copied. Tasks that set O(psbridge.hybrid.adsync_info#module:target=psbridge_target) and
    O(psbridge.hybrid.adsync_info#module:config=psbridge_config) read them from the config file and the
    controller's environment, exactly as the C(psbridge) command does.
  - The inventory source is a YAML file whose name ends in C(.psbridge.yml) or C(.psbridge.yaml), or is
    C(psbridge.yml) or C(psbridge.yaml), whose O(plugin) is V(psbridge.hybrid.psbridge).
  - Enable the plugin in C(ansible.cfg) (C([inventory] enable_plugins = psbridge.hybrid.psbridge, ...)) or
    through E(ANSIBLE_INVENTORY_ENABLED); Ansible's C(auto) plugin, enabled by default, also loads it from the
    C(plugin) key.
requirements:
  - psbridge (the Python library) on the controller
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description:
      - The name of this plugin; it makes the file an inventory source of this plugin.
    required: true
    type: str
    choices: [psbridge.hybrid.psbridge]
  config:
    description:
      - The psbridge config file to read. C(~) and environment variables are expanded; a relative path is relative
        to the folder of the inventory source.
      - Without it, psbridge's own lookup applies, as for the C(psbridge) command without C(--config) (the file
        that E(PSBRIDGE_CONFIG) names, else the per-user file, C(~/.config/psbridge/config.toml)); the inventory
        fails when that finds no file.
    type: str
  group_prefix:
    description:
      - Put before the name of each role group.
      - The default keeps role groups apart from targets named after their role (the config file's default,
        C([targets.connect])). With V(''), the groups are V(connect), V(exo), ...; a target named after its role
        then has its group's name, Ansible warns C(Found both group and host with same name), a host pattern with
        that name means the group, and O(compose) and O(groups) set that group's variables and children instead
        of the host's (Ansible's inventory looks a name up as a group first).
    type: str
    default: psbridge_
"""

EXAMPLES = r"""
# inventory/hybrid.psbridge.yml: every target of the per-user psbridge config file
plugin: psbridge.hybrid.psbridge

# inventory/psbridge.yml: the targets of a config file kept beside it, plus a group per target's port
plugin: psbridge.hybrid.psbridge
config: psbridge.toml
keyed_groups:
  - key: ansible_port | string
    prefix: port

# ansible.cfg
# [inventory]
# enable_plugins = psbridge.hybrid.psbridge, host_list, script, auto, yaml, ini, toml

# A play on every Connect server of the file; the tasks reach each one as `psbridge --target NAME` would:
# - hosts: psbridge_connect
#   gather_facts: false
#   module_defaults:
#     group/psbridge.hybrid.psbridge:
#       target: "{{ psbridge_target }}"
#       config: "{{ psbridge_config }}"
#   tasks:
#     - psbridge.hybrid.adsync_info:
"""

import os

from ansible.errors import AnsibleParserError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import (
    HAS_PSBRIDGE,
    PSBRIDGE_REQUIREMENT,
)

if HAS_PSBRIDGE:
    from psbridge.config import load_config
    from psbridge.errors import InputError
    from psbridge.options import ConnectionOptions
    from psbridge.targets.factory import connection_values

# What an inventory source of this plugin is called (the file name, or its ending).
SOURCE_NAMES = ("psbridge.yml", "psbridge.yaml")
SOURCE_ENDINGS = (".psbridge.yml", ".psbridge.yaml")
PARENT_GROUP = "psbridge"


def role_group(role, prefix):
    """The inventory group of a psbridge role: `cloudsync-agent` becomes `cloudsync_agent` (after the prefix)."""
    return (prefix + role).replace("-", "_")


def target_vars(target, config_path):
    """The host variables of one target: where it is and which target it is, never a credential."""
    try:
        port = ConnectionOptions.build(**connection_values(target)).effective_port
    except InputError as exc:  # a setting psbridge refuses (a missing certificate file, ...): it says which
        raise AnsibleParserError("psbridge config %s: target %r: %s" % (config_path, target.name, exc)) from None
    return {
        "psbridge_target": target.name,
        "psbridge_config": str(config_path),
        "psbridge_role": target.role,
        "ansible_host": target.host,
        "ansible_port": port,
    }


class InventoryModule(BaseInventoryPlugin, Constructable):
    """psbridge.hybrid.psbridge: one host per target of psbridge's config file, one group per role."""

    NAME = "psbridge.hybrid.psbridge"

    def verify_file(self, path):
        """Whether `path` is this plugin's source: `*.psbridge.yml`, `*.psbridge.yaml` or `psbridge.y(a)ml`."""
        name = os.path.basename(path)
        if name not in SOURCE_NAMES and not name.endswith(SOURCE_ENDINGS):
            return False
        return super().verify_file(path)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        if not HAS_PSBRIDGE:
            raise AnsibleParserError(missing_required_lib(PSBRIDGE_REQUIREMENT, reason="on the controller"))
        config = self._load(path)
        for warning in config.warnings:
            self.display.warning("psbridge config: %s" % warning)
        self.inventory.add_group(PARENT_GROUP)
        for target in config.targets.values():
            self._add_target(target, config.path)

    def _load(self, path):
        """psbridge's config file: the `config` option (relative to the source's folder), else psbridge's lookup."""
        name = self.get_option("config")
        if name:
            name = os.path.expandvars(os.path.expanduser(name))
            name = os.path.join(os.path.dirname(os.path.abspath(path)), name)
        try:
            config = load_config(name)
        except InputError as exc:  # psbridge's message names the file and the key, never a value it refused
            raise AnsibleParserError("psbridge config: %s" % exc) from None
        if not config.exists:
            raise AnsibleParserError(
                "psbridge config: no file at %s (psbridge's default location): set the `config` option of %s, or "
                "PSBRIDGE_CONFIG" % (config.path, path)
            )
        return config

    def _add_target(self, target, config_path):
        """One host, in its role's group (a child of `psbridge`), with its variables and the constructed ones."""
        host_vars = target_vars(target, config_path.resolve())
        group = self.inventory.add_group(role_group(target.role, self.get_option("group_prefix") or ""))
        self.inventory.add_child(PARENT_GROUP, group)
        host = self.inventory.add_host(target.name, group=group)
        for key, value in host_vars.items():  # on the host itself, even when a group has its name
            self.inventory.get_host(host).set_variable(key, value)
        strict = self.get_option("strict")
        self._set_composite_vars(self.get_option("compose"), host_vars, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), host_vars, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, host, strict=strict)
