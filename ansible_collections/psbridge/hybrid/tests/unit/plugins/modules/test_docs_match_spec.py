# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""Each module's DOCUMENTATION (with its fragments) says exactly what its action plugin validates.

validate-modules does not compare them: the module files hold documentation only (its `_just_docs` rule), and
the argument spec lives in the action plugin (CONNECTION_SPEC + ARGUMENT_SPEC).
"""

from __future__ import annotations

import importlib
import os

import pytest

from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import get_docstring

from ansible_collections.psbridge.hybrid.plugins.module_utils.connection import CONNECTION_SPEC

MODULES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and name != "__init__.py")
COMPARED = ("type", "choices", "elements", "no_log")


def _documented(name):
    doc = get_docstring(os.path.join(MODULES_DIR, name + ".py"), fragment_loader, collection_name="psbridge.hybrid",
                        is_module=True)[0]
    return doc["options"]


def _validated(name):
    action = importlib.import_module("ansible_collections.psbridge.hybrid.plugins.action." + name).ActionModule
    spec = dict(CONNECTION_SPEC)
    spec.update(action.ARGUMENT_SPEC)
    return spec


def test_every_module_has_an_action_plugin():
    actions_dir = os.path.join(MODULES_DIR, "..", "action")
    actions = sorted(name[:-3] for name in os.listdir(actions_dir) if name.endswith(".py") and name != "__init__.py")
    assert MODULES == actions and "adsync_info" in MODULES
    for name in MODULES:
        _validated(name)


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_are_the_validated_ones(name):
    documented, validated = _documented(name), _validated(name)
    assert sorted(documented) == sorted(validated)
    for option, spec in validated.items():
        doc = documented[option]
        for key in COMPARED:
            wanted = spec.get(key, False if key == "no_log" else None)
            if key == "no_log":  # documentation does not say no_log; a secret's description must say it is kept out
                if wanted:
                    assert "never appears" in " ".join(doc["description"]), option
                continue
            assert doc.get(key) == wanted, (option, key)
        assert doc.get("default") == spec.get("default"), option


def test_the_action_group_lists_every_module():
    import yaml  # pylint: disable=import-outside-toplevel

    runtime = os.path.join(MODULES_DIR, "..", "..", "meta", "runtime.yml")
    with open(runtime, encoding="utf-8") as handle:
        groups = yaml.safe_load(handle)["action_groups"]
    assert sorted(groups["psbridge"]) == MODULES
