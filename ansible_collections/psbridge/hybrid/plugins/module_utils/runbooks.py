# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""psbridge runbooks from psbridge.hybrid: the several hosts a runbook reads, and its report as a task result.

A runbook (`runbook(targets, **options) -> Report`, psbridge.runbooks) reads several roles: the readiness
check reads `connect`, `exo`, `exchange` (and `cloudsync-agent`); the duplicate-mailbox diagnosis reads `exo`
and `exchange`. A task's connection options reach one host, so:

- the task's own host (its `target`, else the inventory host's variables, as for every psbridge.hybrid task)
  plays the runbook's main role: `connect` for the readiness check, `exo` for the duplicate diagnosis;
- every other role is a target of psbridge's config file (the task's `config`, else $PSBRIDGE_CONFIG, else the
  per-user file), named by the task's `<role>_target` option, else the config's target of that role, exactly
  as `psbridge --target` finds one (an `exo` target signs in to Exchange Online, an `exchange` target with
  `via` is reached through its jump host);
- with `replay`, every role is served from the recordings (a role the config has no target for replays the
  recordings of its endpoint, as `psbridge --replay DIR` does), and verdicts are judged as of when the
  recordings were made.
"""

from __future__ import annotations

from ansible_collections.psbridge.hybrid.plugins.module_utils.common import HAS_PSBRIDGE

if HAS_PSBRIDGE:
    from psbridge.config import load_config
    from psbridge.targets import Targets

ROLE_SPECS = {
    "exo_target": {"type": "str"},
    "exchange_target": {"type": "str"},
    "cloudsync_agent_target": {"type": "str"},
}

# Which report statuses fail the task, for each `fail_on`.
FAILING = {"never": (), "fail": ("fail",), "warn": ("warn", "fail")}


def run_runbook(targets, session, params, own, others, runbook, **options):
    """`runbook(roles, options)`: the task's session plays `own`, each role of `others` a config target; the
    exchange role's `via_jump_host` is the option given, else what its target says."""
    config_targets, owned = _config_targets(targets, params)
    try:
        sessions = {own: session}
        names = {}
        for role in others:
            names[role] = params.get(role.replace("-", "_") + "_target") or role
            sessions[role] = config_targets.session(names[role])
        if "exchange" in others and options.get("via_jump_host") is None:
            options["via_jump_host"] = config_targets.via_jump_host(names["exchange"])
        return runbook(Targets.of(sessions), options)
    finally:
        if owned:
            config_targets.close()


def has_role(targets, params, role):
    """Whether psbridge's config file (or, under replay, a target named for it) has a target for `role`."""
    name = params.get(role.replace("-", "_") + "_target")
    if name:
        return True
    config_targets, owned = _config_targets(targets, params)
    try:
        return config_targets.has(role)
    finally:
        if owned:
            config_targets.close()


def report_result(report, fail_on):
    """The task result of a runbook's report: `report` (its checks, evidence, fixes, status), failed when the
    report's status is one `fail_on` fails on (`FAILING`)."""
    data = report.model_dump(mode="json")
    result = {"changed": False, "report": data, "status": data["status"]}
    if data["status"] in FAILING[fail_on]:
        flagged = [check["name"] for check in data["checks"] if check["status"] in FAILING[fail_on]]
        result["failed"] = True
        result["msg"] = "%s: %s (%s)" % (report.runbook, data["status"].upper(), ", ".join(flagged))
    return result


def _config_targets(targets, params):
    """(the Targets other roles are taken from, whether it was made here and must be closed here)."""
    if params.get("target"):
        return targets, False  # the task's own Targets already holds psbridge's config file
    config = load_config(params.get("config"))
    return Targets(config, replay=params.get("replay"), prompt=False, timeout=params.get("timeout")), True
