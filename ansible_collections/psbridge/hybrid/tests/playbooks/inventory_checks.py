# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The inventory plugin psbridge.hybrid.psbridge and the example playbooks (playbooks/), for run_playbooks.py.

- `ansible-inventory --graph` and `--list` on examples/psbridge.toml: its targets are hosts in their role groups,
  each with its target, config file, role, host and port only; the passwords its targets name (set in the
  environment for the run) never appear, even with -vvv;
- a config file with a password written in it: psbridge refuses it, and the password never appears;
- both example playbooks pass `ansible-playbook --syntax-check`, run by their collection name;
- cloud_managed_rollout on three tenants (three exo targets of a config file written for the endpoint, two
  tenants at once) against recorded_sessions/ansible/exo-*: --check --diff on the reads alone (a write sent
  would miss), for real (changed on each tenant, one journal each), then again on the state after the writes
  (unchanged);
- readiness_report against `psbridge serve-replay` of the demo, on the hosts the inventory plugin lists from a
  config file written for the endpoint (three Connect servers, the jump host, Exchange through it): the report
  of every server; with fail_on=warn, every server fails with the checks that did not pass.

The plugin is enabled the way the README says, with ANSIBLE_INVENTORY_ENABLED.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile
import time

from run_playbooks import HOSTS, RECAP, REPOSITORY, USER, Endpoint, tool

EXAMPLE = os.path.join(REPOSITORY, "examples", "psbridge.toml")
ROLE_GROUPS = {  # examples/psbridge.toml's targets, by group
    "psbridge_connect": ["connect", "connect-staging"],
    "psbridge_cloudsync_agent": ["cloudsync-agent"],
    "psbridge_exo": ["exo"],
    "psbridge_exchange": ["exchange"],
    "psbridge_dc": ["dc"],
}
HOST_VARS = ["ansible_host", "ansible_port", "psbridge_config", "psbridge_role", "psbridge_target"]
# A config file's [defaults] for the serve-replay endpoint on `port` (the password: the endpoint's, from the
# environment), and the Exchange Online sign-in the recordings hold (recorded_sessions/demo/exo.yaml; no secret).
ENDPOINT = """[defaults]
username = "%(user)s"
password_env = "PSBRIDGE_REPLAY_PASSWORD"
auth = "ntlm"
tls = false
port = %(port)s
"""
EXO_SIGN_IN = """organization = "contoso.onmicrosoft.com"
app_id = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"
certificate_thumbprint = "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"
"""
CONNECT = '\n[targets.%s]\nrole = "connect"\nhost = "127.0.0.1"\n'
JUMP_HOST = ('\n[targets.exo]\nhost = "127.0.0.1"\n' + EXO_SIGN_IN  # Exchange Server through it, below
             + '\n[targets.exchange]\nhost = "ex01.contoso.example"\nvia = "exo"\n')
TENANT = '\n[targets.%s]\nrole = "exo"\nhost = "127.0.0.1"\n' + EXO_SIGN_IN
TENANTS = ("tenant1", "tenant2", "tenant3")
# The mailboxes of recorded_sessions/ansible/exo-* (three to switch, Isaiah's already switched).
IDENTITIES = ["nestor@contoso.example", "patti@contoso.example", "lynne@contoso.example", "isaiah@contoso.example"]


def run(command, env):
    """One ansible command (`command[0]` from beside this Python); (exit code, stdout, both outputs)."""
    started = time.monotonic()
    done = subprocess.run([tool(command[0])] + command[1:], env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    print("  %s: exit %d in %.1f s" % (" ".join(command[:4]), done.returncode, time.monotonic() - started))
    return done.returncode, done.stdout, done.stdout + done.stderr


def write(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.chmod(path, 0o600)
    return path


def leaks(runner, output, *more):
    return ["a password appears in the output"] if any(s in output for s in (runner.password,) + more) else []


def check_example_inventory(runner, env, folder):
    """--list and --graph -vvv on examples/psbridge.toml, with the passwords its targets name in the environment."""
    source = write(folder, "psbridge.yml", "plugin: psbridge.hybrid.psbridge\nconfig: %s\n" % EXAMPLE)
    env = dict(env, PSBRIDGE_PASSWORD=runner.password, CONNECT_STAGING_PASSWORD=runner.wrong_password)
    code, listed, output = run(["ansible-inventory", "-i", source, "--list"], env)
    problems = ["--list exit code %d" % code] if code else []
    data = json.loads(listed) if code == 0 else {}
    for group, hosts in ROLE_GROUPS.items():
        if sorted(data.get(group, {}).get("hosts", [])) != hosts:
            problems.append("group %s is not %s" % (group, hosts))
    if sorted(data.get("psbridge", {}).get("children", [])) != sorted(ROLE_GROUPS):
        problems.append("the psbridge group's children are not the role groups")
    for host, values in data.get("_meta", {}).get("hostvars", {}).items():
        if sorted(values) != HOST_VARS:
            problems.append("%s has the variables %s" % (host, sorted(values)))
    code, graph, more = run(["ansible-inventory", "-vvv", "-i", source, "--graph"], env)
    if code or "|--@psbridge_cloudsync_agent:\n  |  |  |--cloudsync-agent" not in graph:
        problems.append("--graph exit code %d, or without cloudsync-agent in its group" % code)
    runner.record("inventory plugin: examples/psbridge.toml's targets in their role groups, no password",
                  problems + leaks(runner, output + more, runner.wrong_password), output + more)


def check_written_password(runner, env, folder):
    """A password written in the config file fails the source with psbridge's reason, and is never shown."""
    written = "Wr1tten-" + secrets.token_urlsafe(18)
    config = write(folder, "written.toml", '[targets.connect]\nhost = "c1"\npassword = "%s"\n' % written)
    source = write(folder, "written.psbridge.yml", "plugin: psbridge.hybrid.psbridge\nconfig: %s\n" % config)
    code, listed, output = run(["ansible-inventory", "-vvv", "-i", source, "--list"], env)
    problems = [] if "never stored in the config file" in output else ["psbridge's reason is not shown"]
    if code == 0 and '"connect"' in listed:
        problems.append("the host was listed")
    runner.record("inventory plugin: a password written in the config is refused, not shown",
                  problems + leaks(runner, output, written), output)


def check_syntax(runner, env, source):
    for name in ("cloud_managed_rollout", "readiness_report"):
        code, _listed, output = run(["ansible-playbook", "--syntax-check", "-i", source, "psbridge.hybrid." + name],
                                    env)
        runner.record("example playbook %s: syntax" % name, ["exit code %d" % code] if code else [], output)


def check_readiness(runner, env, folder, port):
    """readiness_report on three Connect servers of the inventory plugin, through serve-replay of the demo."""
    targets = "".join(CONNECT % host for host in HOSTS) + JUMP_HOST
    write(folder, "psbridge.toml", ENDPOINT % {"user": USER, "port": port} + targets)
    source = write(folder, "hybrid.psbridge.yml", "plugin: psbridge.hybrid.psbridge\nconfig: psbridge.toml\n")
    report = os.path.join(folder, "readiness.json")
    command = ["ansible-playbook", "-vvv", "-i", source, "psbridge.hybrid.readiness_report", "-e",
               "report_file=%s" % report]
    code, _listed, output = run(command, env)
    problems = ["exit code %d" % code] if code else []
    lines = []
    if os.path.exists(report):
        with open(report, encoding="utf-8") as stream:
            lines = json.load(stream)
    wanted = [{"server": host, "status": "warn", "version": "2.5.190.0", "not_passed": ["synced-mailboxes"]}
              for host in HOSTS]
    if [{key: line.get(key) for key in wanted[0]} for line in lines] != wanted:
        problems.append("the report is %s" % lines)
    runner.record("readiness_report: every Connect server of the inventory plugin, one report",
                  problems + leaks(runner, output), output)
    code, _listed, output = run(command[:-1] + ["fail_on=warn"], env)
    failed = {host: int(f) for host, _ok, _changed, _unreachable, f in RECAP.findall(output)}
    problems = [] if code == 2 and failed == dict.fromkeys(HOSTS, 1) else ["exit %d, failed %s" % (code, failed)]
    if "readiness warn: synced-mailboxes" not in output:
        problems.append("the failure does not say which checks")
    runner.record("readiness_report with fail_on=warn: every server fails, saying why",
                  problems + leaks(runner, output), output)


def check_rollout(runner, env, folder):
    """cloud_managed_rollout on three tenants, two at once: --check --diff, then changed, then unchanged."""
    recordings = os.path.join(REPOSITORY, "recorded_sessions", "ansible")
    journals = os.path.join(folder, "journals")  # the playbook makes it, once (a change counted on tenant1)
    runs = (("--check --diff: every tenant would change, nothing sent", "exo-before-no-writes", ["--check", "--diff"],
             {"tenant1": 2, "tenant2": 1, "tenant3": 1}),
            ("first run: every tenant changed", "exo-before", [], {"tenant1": 2, "tenant2": 1, "tenant3": 1}),
            ("second run: unchanged", "exo-after", [], dict.fromkeys(TENANTS, 0)))
    for label, state, extra, changed in runs:
        with Endpoint(os.path.join(recordings, state), runner.env) as endpoint:
            targets = "".join(TENANT % tenant for tenant in TENANTS)
            write(folder, "tenants.toml", ENDPOINT % {"user": USER, "port": endpoint.port} + targets)
            source = write(folder, "tenants.psbridge.yml", "plugin: psbridge.hybrid.psbridge\nconfig: tenants.toml\n")
            variables = {"cloud_managed_identities": IDENTITIES, "journal_dir": journals, "tenants_at_once": 2}
            code, _listed, output = run(["ansible-playbook", "-vvv", "-f", "3", "-i", source,
                                         "psbridge.hybrid.cloud_managed_rollout", "-e", json.dumps(variables)] + extra,
                                        env)
        recap = {host: int(c) for host, _ok, c, _unreachable, _failed in RECAP.findall(output)}
        problems = ["exit code %d" % code] if code else []
        if recap != changed:
            problems.append("PLAY RECAP changed=%s, wanted %s" % (recap, changed))
        runner.record("cloud_managed_rollout, three tenants, " + label, problems + leaks(runner, output), output)
    found = sorted(os.listdir(journals)) if os.path.isdir(journals) else []
    wanted = ["%s-cloud-managed-true.jsonl" % tenant for tenant in TENANTS]
    runner.record("cloud_managed_rollout: one journal per tenant", [] if found == wanted else ["journals: %s" % found],
                  "")


def inventory_checks(runner):
    """All of the above (run_playbooks.py's main calls it)."""
    env = dict(runner.env, ANSIBLE_INVENTORY_ENABLED="psbridge.hybrid.psbridge")
    with tempfile.TemporaryDirectory(prefix="psbridge-inventory-") as folder:
        check_example_inventory(runner, env, folder)
        check_written_password(runner, env, folder)
        check_syntax(runner, env, os.path.join(folder, "psbridge.yml"))
        with Endpoint(os.path.join(REPOSITORY, "recorded_sessions", "demo"), runner.env) as endpoint:
            check_readiness(runner, env, folder, endpoint.port)
        check_rollout(runner, env, folder)
