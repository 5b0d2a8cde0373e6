# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The base of every psbridge.hybrid action plugin: validate, open one psbridge session, act, translate.

Each task runs in the controller's Python (psbridge is a library, not a program copied to the host) and
opens its own psbridge session to the Windows host, closed when the task ends (a task that needs none, such
as Cloud Sync over Graph, says so in `needs_session`). Ansible's own connection to the host (psrp, winrm,
ssh) is never used, so `_requires_connection` is False and a play needs no working WinRM connection of
Ansible's. A subclass declares its own options (`ARGUMENT_SPEC`, with the rules of `ArgumentSpecValidator`)
and implements `act(targets, session, params)`, which returns the task's result.

Every secret (the password option, the host's password variable, what psbridge's options call secret) is
removed from the result, whatever path it took there (Ansible's `remove_values`, as modules do for no_log).
"""

from __future__ import annotations

from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import (
    HAS_PSBRIDGE,
    error_result,
    missing_psbridge_result,
)
from ansible_collections.psbridge.hybrid.plugins.module_utils.connection import (
    CONNECTION_SPEC,
    HOST_VAR_NAMES,
    HOST_VARS,
    open_session,
    task_targets,
)


class PsbridgeAction(ActionBase):
    """One task: one psbridge session to one host, opened and closed here; subclasses implement `act`."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    ARGUMENT_SPEC = {}
    MUTUALLY_EXCLUSIVE = []
    REQUIRED_ONE_OF = []

    def act(self, targets, session, params):
        """The task's work on an open session (None when `needs_session` said no); returns the result (a dict).
        Raises psbridge errors."""
        raise NotImplementedError

    def targets_arguments(self, params):
        """More arguments of the task's psbridge Targets (a Graph app's credentials); none by default."""
        del params
        return {}

    def needs_session(self, targets, params):
        """Whether the task talks to its host over PSRP (a Cloud Sync task over Graph does not: it needs no
        host, no password, and no PSRP recordings)."""
        del targets, params
        return True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        if not HAS_PSBRIDGE:
            result.update(missing_psbridge_result())
            return result
        spec = dict(CONNECTION_SPEC)
        spec.update(self.ARGUMENT_SPEC)
        dummy, params = self.validate_argument_spec(
            argument_spec=spec,
            mutually_exclusive=self.MUTUALLY_EXCLUSIVE,
            required_one_of=self.REQUIRED_ONE_OF,
        )
        host_vars = self._host_vars(task_vars or {})
        secrets = {str(params[name]) for name, option in spec.items() if option.get("no_log") and params.get(name)}
        secrets.update(str(host_vars[name]) for name in HOST_VARS["password"] if host_vars.get(name))
        targets = None
        try:
            targets = task_targets(params, **self.targets_arguments(params))
            session = None
            if self.needs_session(targets, params):
                session, opened = open_session(targets, params, host_vars)
                secrets.update(opened)
            result.update(self.act(targets, session, params))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            result.update(error_result(exc, secrets))
        finally:
            if targets is not None:
                self._close(targets, result, secrets)
        return remove_values(result, secrets)

    def _host_vars(self, task_vars):
        """The host's connection variables, templated (a vaulted or templated password is resolved here)."""
        found = {}
        for name in HOST_VAR_NAMES:
            value = task_vars.get(name)
            if value is not None:
                value = self._templar.template(value)
                found[name] = value if isinstance(value, (bool, int)) else str(value)
        return found

    @staticmethod
    def _close(targets, result, secrets):
        """Close the task's sessions; a failure to close fails the task only if nothing else did."""
        try:
            targets.close()
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if not result.get("failed"):
                result.update(error_result(exc, secrets))
