# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""Run psbridge.hybrid's playbooks with ansible-playbook against `psbridge serve-replay` on loopback.

    python ansible_collections/psbridge/hybrid/tests/playbooks/run_playbooks.py [--collections-path DIR]

Run it with the Python of the environment that has ansible-core and psbridge (ansible-playbook and psbridge are
taken from beside it). Each check starts its own endpoint (NTLM over HTTP on 127.0.0.1, a port the system
picks, a password made for the run and passed only through the environment), runs one playbook with -vvv, and
checks the exit code, the PLAY RECAP and that no password appears anywhere in the output:

- adsync_demo.yml against recorded_sessions/demo, three hosts: reads, check mode, an already-matching state;
- scheduler.yml with --check --diff against the demo (which holds no write, so none was sent): changed on every
  host; for real against recorded_sessions/ansible/scheduler-before: changed on every host; then against
  recorded_sessions/ansible/scheduler-after: not changed (idempotence);
- failures.yml: a wrong password (AuthenticationError), an account without rights and an unrecorded write
  (from recordings);
- replay.yml: the same reads, check mode and idempotence straight from recordings (the `replay` option);
- the inventory plugin and the example playbooks (playbooks/): inventory_checks.py.
- sync_cycle.yml (a cycle started and waited for, --check on reads only, one already running), cloudsync.yml
  (--check --diff on Graph reads only and as the AADCloudSyncTools dry run; changed, then unchanged, over both) and readiness.yml (runbooks, Cloud Sync
  reads, their failure paths, from recordings): sync_cloudsync_runbook_checks.

By default the collection is used from this repository (ANSIBLE_COLLECTIONS_PATH is the repository root);
`--collections-path` runs an installed copy instead (`ansible-galaxy collection install` of the built artifact).
Ends with one line `N passed, N failed`; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
USER = "ci"
HOSTS = ("connect01", "connect02", "connect03")


def tool(name):
    """A command installed beside this Python (its virtual environment's bin)."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.path.exists(beside) else name


class Endpoint:
    """`psbridge serve-replay RECORDINGS` on 127.0.0.1, stopped (SIGTERM to its own process id) on exit."""

    def __init__(self, recordings, env):
        self.recordings = recordings
        self.env = env
        self.process = None
        self.port = None
        self.log = None

    def __enter__(self):
        command = [tool("psbridge"), "serve-replay", self.recordings, "--auth", "ntlm", "--user", USER, "--port", "0"]
        self.log = tempfile.TemporaryFile(mode="w+")  # pylint: disable=consider-using-with
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            command, env=self.env, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        line = self.process.stdout.readline()  # its first line, as soon as it listens
        match = LISTENING.search(line)
        if not match:
            self.__exit__(None, None, None)
            raise RuntimeError("serve-replay did not start: %r" % line)
        self.port = match.group(1)
        return self

    def __exit__(self, *exc_info):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
        self.log.close()


class Runner:
    """Runs the checks, counting what passed and what failed."""

    def __init__(self, collections_path):
        self.password = "Rp1-" + secrets.token_urlsafe(18)  # made for this run, never written to a file
        self.wrong_password = "Wr0ng-" + secrets.token_urlsafe(18)
        self.env = dict(os.environ)
        self.env.update({
            "ANSIBLE_COLLECTIONS_PATH": collections_path,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "PSBRIDGE_REPLAY_PASSWORD": self.password,
        })
        self.env.pop("ANSIBLE_CONFIG", None)
        self.passed = []
        self.failed = []

    def playbook(self, name, port, *extra):
        """ansible-playbook -vvv NAME against the endpoint on `port`; (exit code, output)."""
        command = [tool("ansible-playbook"), "-vvv", "-i", os.path.join(HERE, "inventory.yml"),
                   "-e", "replay_port=%s" % (port or 0), "-e", "repository=%s" % REPOSITORY,
                   "-e", "wrong_password=%s" % self.wrong_password, os.path.join(HERE, name)]
        command.extend(extra)
        started = time.monotonic()
        done = subprocess.run(command, env=self.env, cwd=HERE, capture_output=True, text=True, timeout=600, check=False)
        output = done.stdout + done.stderr
        print("  %s %s: exit %d in %.1f s" % (name, " ".join(extra), done.returncode, time.monotonic() - started))
        return done.returncode, output

    def check(self, label, port, name, *extra, changed=None):
        """One playbook run: exit 0, no secret in its output, and `changed` tasks on each host if given."""
        code, output = self.playbook(name, port, *extra)
        problems = []
        if code != 0:
            problems.append("exit code %d" % code)
        for secret in (self.password, self.wrong_password):
            if secret in output:
                problems.append("a password appears in the -vvv output")
        recap = {host: int(c) for host, _ok, c, _unreachable, _failed in RECAP.findall(output)}
        if changed is not None:
            wanted = {host: changed for host in HOSTS}
            if recap != wanted:
                problems.append("PLAY RECAP changed=%s, wanted %s" % (recap, wanted))
        self.record(label, problems, output)

    def record(self, label, problems, output):
        if problems:
            self.failed.append(label)
            print("FAILED %s: %s" % (label, "; ".join(problems)))
            print(output[-6000:])
        else:
            self.passed.append(label)
            print("passed %s" % label)


def exo_checks(runner):
    """Exchange Online: reads on the demo; exo_desired_state.yml (one mailbox, and many through the journaled
    rollout) --check --diff on the reads without writes (a write sent would miss), then for real before the
    writes (changed) and after them (unchanged, the same journals resumed); a rollout with a failing mailbox
    fails its task with the mailbox's error class; exo_org.yml (the tenant default) changed, then unchanged."""
    recordings = os.path.join(REPOSITORY, "recorded_sessions", "ansible")
    with tempfile.TemporaryDirectory(prefix="psbridge-journals-") as journals:
        journal_dir = "journal_dir=%s" % journals
        with Endpoint(os.path.join(REPOSITORY, "recorded_sessions", "demo"), runner.env) as endpoint:
            runner.check("exo reads (3 hosts)", endpoint.port, "exo_info.yml", changed=0)
        with Endpoint(os.path.join(recordings, "exo-before-no-writes"), runner.env) as endpoint:
            runner.check("exo_cloud_managed --check --diff: changed, nothing sent", endpoint.port,
                         "exo_desired_state.yml", "--check", "--diff", "-e", journal_dir, "-e", "expect_changed=true",
                         changed=2)
        with Endpoint(os.path.join(recordings, "exo-before"), runner.env) as endpoint:
            runner.check("exo_cloud_managed, first run: changed", endpoint.port, "exo_desired_state.yml", "-e",
                         journal_dir, "-e", "expect_changed=true", changed=2)
            runner.check("exo_cloud_managed, a failing mailbox fails its task", endpoint.port, "exo_failures.yml",
                         "-e", journal_dir, changed=1)
            runner.check("exo_org_config --check --diff: changed", endpoint.port, "exo_org.yml", "--check", "--diff",
                         "-e", "expect_changed=true", changed=1)
            runner.check("exo_org_config, first run: changed", endpoint.port, "exo_org.yml", "-e",
                         "expect_changed=true", changed=1)
        with Endpoint(os.path.join(recordings, "exo-after"), runner.env) as endpoint:
            runner.check("exo_cloud_managed, second run: unchanged", endpoint.port, "exo_desired_state.yml", "-e",
                         journal_dir, "-e", "expect_changed=false", changed=0)
            runner.check("exo_org_config, second run: unchanged", endpoint.port, "exo_org.yml", "-e",
                         "expect_changed=false", changed=0)


def sync_cloudsync_runbook_checks(runner):
    """adsync_sync_cycle (a cycle started, waited for; --check on reads only; one already running),
    cloudsync_job over both backends (--check --diff on reads only, changed, then unchanged), and readiness.yml
    (runbooks, Cloud Sync reads and their failure paths from recordings)."""
    recordings = os.path.join(REPOSITORY, "recorded_sessions")
    with Endpoint(os.path.join(recordings, "demo"), runner.env) as endpoint:
        runner.check("sync cycle started and waited for", endpoint.port, "sync_cycle.yml", "-e", "expect=started",
                     "-e", "wait_for_cycle=true", changed=1)
    with Endpoint(os.path.join(recordings, "ansible", "sync-cycle-idle"), runner.env) as endpoint:
        runner.check("sync cycle --check: changed, nothing sent", endpoint.port, "sync_cycle.yml", "--check", "-e",
                     "expect=would_start", changed=1)
    with Endpoint(os.path.join(recordings, "cases", "adsync-sync-running.yaml"), runner.env) as endpoint:
        runner.check("sync cycle already running: reported, unchanged", endpoint.port, "sync_cycle.yml", "-e",
                     "expect=in_progress", changed=0)
    check = ("--check", "--diff")
    runs = (("cloudsync-active", ("graph",), check, 1, "--check: changed, nothing sent"),
            ("cloudsync-before", ("psrp",), check, 1, "--check: changed (dry run)"),
            ("cloudsync-before", ("psrp", "graph"), (), 1, "first run: changed"),
            ("cloudsync-after", ("psrp", "graph"), (), 0, "second run: unchanged"))
    for scenario, vias, extra, changed, what in runs:
        with Endpoint(os.path.join(recordings, "ansible", scenario), runner.env) as endpoint:
            for via in vias:
                runner.check("cloudsync_job via %s, %s" % (via, what), endpoint.port, "cloudsync.yml", "-e",
                             "scenario=%s" % scenario, "-e", "via=%s" % via, *extra, changed=changed)
    runner.check("runbooks and Cloud Sync reads from recordings", None, "readiness.yml")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections-path", default=REPOSITORY,
                        help="where ansible_collections/psbridge/hybrid is (default: this repository)")
    options = parser.parse_args()
    runner = Runner(os.path.abspath(options.collections_path))
    demo = os.path.join(REPOSITORY, "recorded_sessions", "demo")
    before = os.path.join(REPOSITORY, "recorded_sessions", "ansible", "scheduler-before")
    after = os.path.join(REPOSITORY, "recorded_sessions", "ansible", "scheduler-after")
    with Endpoint(demo, runner.env) as endpoint:
        runner.check("demo reads, check mode, matching state (3 hosts)", endpoint.port, "adsync_demo.yml")
        runner.check("failure paths carry the error class", endpoint.port, "failures.yml")
        # The demo holds no write: a check-mode run that sent one would fail on a replay miss.
        runner.check("scheduler --check --diff: changed, nothing sent", endpoint.port, "scheduler.yml", "--check",
                     "--diff", changed=1)
    with Endpoint(before, runner.env) as endpoint:
        runner.check("scheduler, first run: changed", endpoint.port, "scheduler.yml", changed=1)
    with Endpoint(after, runner.env) as endpoint:
        runner.check("scheduler, second run: unchanged", endpoint.port, "scheduler.yml", changed=0)
    runner.check("straight from recordings (replay option)", None, "replay.yml")
    exo_checks(runner)
    sync_cloudsync_runbook_checks(runner)
    # imported here: inventory_checks imports this module's Endpoint and Runner helpers
    from inventory_checks import inventory_checks  # pylint: disable=import-outside-toplevel
    inventory_checks(runner)
    print("%d passed, %d failed" % (len(runner.passed), len(runner.failed)))
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
