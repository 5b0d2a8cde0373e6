"""Monitoring outputs: `--output nagios`, `--output prometheus` and `--textfile PATH`.

Offered by the runbooks (`check`, `diagnose`, `repair`), `selftest`, `cloudsync status` and `adsync version`
(`SUPPORTED`); any other command given one of them is a usage error, refused before anything is sent. Each
supported command turns its result into a `Report` (checks with pass/warn/fail/skip) plus `Measure`s, the domain
numbers (stragglers, days to Connect Sync's end of support, quarantined Cloud Sync jobs, selftest failures).

`--output nagios` prints one line by the Nagios plugin convention, `SERVICE STATUS: summary | perfdata`
(https://nagios-plugins.org/doc/guidelines.html), then one line per check, and exits 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN: the worst check pass, warn or fail; every error path of `psbridge.cli.main.main()`
(bad input, usage, an unreachable target, a remote failure, a bug, a local write, an interruption) becomes
UNKNOWN (3) with one `SERVICE UNKNOWN: reason` line on stdout (`on_error`); a usage error included, since a
plugin's 2 would read as CRITICAL.

`--output prometheus` prints the exposition text (prometheus_client, a private registry); `--textfile PATH` writes
the same text atomically to PATH (a temporary file in its directory, then `os.replace`) for node_exporter's
textfile collector, whatever `--output` is. On an error the exposition says `psbridge_run_success 0` (exit codes
unchanged). `psbridge_last_success_timestamp_seconds` is the time of the last run that reached a verdict (any
verdict: the checks' outcome is in `psbridge_check_status`); a failed run cannot know it, so it carries the value
over from the textfile it replaces, and leaves the metric out when there is none (stdout).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from psbridge.adsync.models import VersionCheck
    from psbridge.cloudsync.models import JobStatusList
    from psbridge.runbooks.report import Report

OUTPUTS = ("nagios", "prometheus")
# The command paths (without `psbridge`) that have monitoring outputs; a group's name covers its commands.
SUPPORTED = ("check", "diagnose", "repair", "selftest", "cloudsync status", "adsync version")
OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
_STATES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
_SEVERITY = {"pass": OK, "skip": OK, "warn": WARNING, "fail": CRITICAL}
_STATUSES = ("pass", "warn", "fail", "skip")
_MAX_LINE = 400  # an UNKNOWN line's reason is cut there: a status line is read on a dashboard
_LAST_SUCCESS = "psbridge_last_success_timestamp_seconds"

_started: float | None = None  # when the running command started (before_command), for its duration


@dataclasses.dataclass(frozen=True)
class Measure:
    """One number: a Nagios performance datum `name=value[uom];warn;crit;min;max` and the gauge `psbridge_<name>`.
    `warn` and `crit` are Nagios ranges ("0": alert above 0), given only where the verdict follows them."""

    name: str
    value: float
    help: str
    uom: str = ""
    warn: str = ""
    crit: str = ""
    minimum: float | None = 0
    maximum: float | None = None


def before_command(ctx: click.Context) -> None:
    """Before a command runs (nothing sent yet): refuse a monitoring output or --textfile it does not offer,
    check the textfile's path, and start the clock of `psbridge_run_duration_seconds`."""
    global _started
    root = ctx.find_root().params
    if root.get("output") in OUTPUTS or root.get("textfile"):
        path = command_path(ctx.command_path.split()[1:])
        if not any(path == s or path.startswith(f"{s} ") for s in SUPPORTED):
            wanted = f"--output {root['output']}" if root.get("output") in OUTPUTS else "--textfile"
            raise click.UsageError(f"{wanted} is offered by {', '.join(SUPPORTED)}, not by {path}")
    if root.get("textfile"):
        _check_textfile(Path(root["textfile"]))
    _started = time.monotonic()


def command_path(words: Iterable[str]) -> str:
    """The command named by the words of a command line (options and their values skipped), e.g. `check
    cloud-managed-readiness`: the label of a run's series, the same whether the run succeeded or not."""
    from psbridge.cli.main import cli

    names: list[str] = []
    group: Any = cli
    for word in words:
        if word == "--":
            break
        if isinstance(group, click.Group) and word in group.commands:
            names.append(word)
            group = group.commands[word]
    return " ".join(names)


def publish(
    ctx: click.Context, report: Report, measures: Sequence[Measure] = (), *, exit_code: int | None = None
) -> int | None:
    """Write the textfile when asked; under a monitoring output, print it and return the exit code to use
    (None otherwise: the command prints as usual). Under prometheus that is the command's own (`exit_code`,
    by default the report's); under nagios the plugin's."""
    root = ctx.find_root().params
    command = command_path(ctx.command_path.split()[1:])
    code = _plugin_code(report)
    exposition = None
    if root.get("textfile") or root.get("output") == "prometheus":
        exposition = _exposition(command, report, measures, code, None)
    if root.get("textfile"):
        write_textfile(Path(root["textfile"]), exposition or b"")
    if root.get("output") == "nagios":
        click.echo("\n".join(_nagios(command, report, measures, code)))
        return code
    if root.get("output") == "prometheus":
        click.echo((exposition or b"").decode("utf-8"), nl=False)
        return int(report.exit_code) if exit_code is None else exit_code
    return None


def on_error(args: Sequence[str], line: str, code: int) -> int:
    """main()'s hook for every error path: under `--output nagios`, one UNKNOWN line on stdout and exit 3;
    with `--output prometheus` or --textfile, an exposition saying the run failed (exit code unchanged)."""
    from psbridge.logs import redact_known

    output, textfile = _scan(args)
    command = command_path(args)
    message = " ".join(redact_known(line).split())
    message = message if len(message) <= _MAX_LINE else f"{message[: _MAX_LINE - 3]}..."
    if output == "prometheus" or textfile:
        exposition = _exposition(command, None, (), UNKNOWN, _previous(textfile))
        if textfile:
            with contextlib.suppress(Exception):  # the error being reported may be this very file
                write_textfile(Path(textfile), exposition)
        if output == "prometheus":
            click.echo(exposition.decode("utf-8"), nl=False)
    if output == "nagios":
        click.echo(f"{_service(command)} UNKNOWN: {_clean(message)}")
        return UNKNOWN
    return code


def _scan(args: Sequence[str]) -> tuple[str | None, str | None]:
    """--output/-o and --textfile as a command line gives them (the last wins), read without click: an error
    may have stopped its parsing anywhere."""
    from psbridge.cli.terminal import option_values

    found = option_values(args, {"--output": "output", "-o": "output", "--textfile": "textfile"})
    return found.get("output"), found.get("textfile")


def _plugin_code(report: Report) -> int:
    """The worst check: pass 0, warn 1, fail 2; a report whose own code says more than a verdict (a selftest
    with an unreachable target: exit 3) is UNKNOWN."""
    if int(report.exit_code) not in (0, 1):
        return UNKNOWN
    return _SEVERITY[report.status.value]


def _counts(report: Report) -> dict[str, int]:
    return {status: sum(1 for c in report.checks if c.status.value == status) for status in _STATUSES}


# -- Nagios -----------------------------------------------------------------------------------------------


def _nagios(command: str, report: Report, measures: Sequence[Measure], code: int) -> list[str]:
    """The status line (with every performance datum) and one line per check."""
    counts = _counts(report)
    worst = [c for c in report.checks if _SEVERITY[c.status.value] == code and code != OK]
    told = f"{worst[0].name}: {worst[0].summary}" if worst else f"{counts['pass']} checks passed"
    more = f" (and {len(worst) - 1} more)" if len(worst) > 1 else ""
    subject = f" [{_clean(report.subject)}]" if report.subject else ""
    total = len(report.checks)
    thresholds = {"warn": ("0", ""), "fail": ("", "0")}
    data = [
        _perfdatum(Measure(s, n, f"{s} checks", warn=thresholds.get(s, ("", ""))[0],
                           crit=thresholds.get(s, ("", ""))[1], maximum=total))
        for s, n in counts.items()
    ]  # fmt: skip
    data += [_perfdatum(m) for m in measures]
    head = f"{_service(command)} {_STATES[code]}: {_clean(told)}{more}{subject} | {' '.join(data)}"
    lines = [head]
    for item in report.checks:
        where = f" [{item.target}]" if item.target else ""
        lines.append(_clean(f"{item.status.value.upper()} {item.name}{where}: {item.summary}"))
    return lines


def _service(command: str) -> str:
    """The SERVICE of a status line: the command's path, e.g. CHECK-CLOUD-MANAGED-READINESS, the same whether the
    run reached a verdict or not; PSBRIDGE when the command line named none."""
    return (command or "psbridge").upper().replace(" ", "-")


def _clean(text: str) -> str:
    """One line without `|`, which would start the performance data."""
    return " ".join(text.replace("|", "/").split())


def _perfdatum(m: Measure) -> str:
    label = m.name
    if any(ch in label for ch in " '="):
        label = "'" + label.replace("'", "''") + "'"
    bounds = ["" if v is None else _number(v) for v in (m.minimum, m.maximum)]
    return f"{label}={_number(m.value)}{m.uom};{m.warn};{m.crit};{';'.join(bounds)}".rstrip(";")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# -- Prometheus ---------------------------------------------------------------------------------------------


def _exposition(
    command: str, report: Report | None, measures: Sequence[Measure], code: int, last_success: float | None
) -> bytes:
    """The exposition text of one run; `report` None: the run failed before a verdict, and `last_success` is
    the one the textfile it replaces recorded."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry(auto_describe=True)

    def gauge(name: str, about: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(f"psbridge_{name}", about, ["command", *labels], registry=registry)

    gauge("run_success", "1: the command ran to a verdict; 0: it failed (bad input, unreachable, ...)").labels(
        command
    ).set(0 if report is None else 1)
    gauge("status", "The verdict as a Nagios plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN").labels(
        command
    ).set(code)
    if _started is not None:
        gauge("run_duration_seconds", "The command's run time").labels(command).set(time.monotonic() - _started)
    _forget_start()
    now = time.time() if report is not None else last_success
    if now is not None:
        gauge("last_success_timestamp_seconds", "When a run last reached a verdict (Unix time)").labels(command).set(
            now
        )
    if report is not None:
        checks = gauge("checks", "Checks per status", ["status"])
        for status, count in _counts(report).items():
            checks.labels(command, status).set(count)
        per_check = gauge("check_status", "1 for the check's status (pass, warn, fail, skip), else 0",
                          ["check", "target", "status"])  # fmt: skip
        for item in report.checks:
            for status in _STATUSES:
                per_check.labels(command, item.name, item.target or "", status).set(item.status.value == status)
    for m in measures:
        gauge(m.name, m.help).labels(command).set(m.value)
    data: bytes = generate_latest(registry)
    return data


def _forget_start() -> None:
    """The clock is one run's: a later run in the same process (tests) that fails before its command starts
    has no duration."""
    global _started
    _started = None


def _previous(textfile: str | None) -> float | None:
    """The last success the textfile being replaced recorded, if it is there and readable."""
    if not textfile:
        return None
    from prometheus_client.parser import text_string_to_metric_families

    from psbridge.safeio import read_text

    with contextlib.suppress(Exception):  # no file, or not ours: nothing to carry over
        for family in text_string_to_metric_families(read_text(textfile, "textfile", max_bytes=1 << 20)):
            if family.name == _LAST_SUCCESS and family.samples:
                return float(family.samples[0].value)
    return None


def _check_textfile(path: Path) -> None:
    """PATH must be a regular file or absent, in a directory that exists (InputError: exit 2, one line)."""
    from psbridge.errors import InputError
    from psbridge.safeio import regular_file

    regular_file(path, "textfile")
    if not path.absolute().parent.is_dir():
        raise InputError(f"textfile {path}: {path.absolute().parent} is not a directory")


def write_textfile(path: Path, data: bytes) -> None:
    """Replace PATH with `data` at once: a temporary file in the same directory (not named *.prom, so the
    collector never reads it half-written), fsynced, made readable by the collector's user, then `os.replace`d.
    A failure is one LocalWriteError line (exit 74) and leaves PATH as it was."""
    from psbridge.errors import LocalWriteError

    _check_textfile(path)
    try:
        fd, temp = tempfile.mkstemp(dir=path.absolute().parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise LocalWriteError(f"cannot write textfile {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, 0o644)  # node_exporter reads it as another user; it holds no secret
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise LocalWriteError(f"cannot write textfile {path}: {exc.strerror or exc}") from None


# -- What each command measures ---------------------------------------------------------------------------


def report_measures(report: Report) -> list[Measure]:
    """The domain numbers a runbook's checks hold: stragglers and days to end of support (readiness), failures
    (selftest)."""
    measures: list[Measure] = []
    by_name = {c.name: c for c in report.checks}
    mailboxes = by_name.get("synced-mailboxes")
    if mailboxes is not None and isinstance(mailboxes.evidence.get("not_cloud_managed"), int):
        about = "Dir-synced mailboxes whose Exchange attributes are not cloud-managed yet"
        measures.append(Measure("stragglers", mailboxes.evidence["not_cloud_managed"], about))
    connect = by_name.get("connect-version")
    if connect is not None and connect.evidence.get("end_of_support") and connect.evidence.get("as_of"):
        end, as_of = (dt.date.fromisoformat(connect.evidence[k]) for k in ("end_of_support", "as_of"))
        measures.append(_days_left(end, as_of))
    if report.runbook == "selftest":
        failures = sum(1 for c in report.checks if c.status.value == "fail")
        measures.append(Measure("selftest_failures", failures, "Wrappers whose output did not validate", crit="0"))
    return measures


def _days_left(end: dt.date, today: dt.date) -> Measure:
    return Measure("days_to_end_of_support", (end - today).days, "Days until Connect Sync's version goes out of "
                   "support (third-party transcription of Microsoft's version history)", minimum=None)  # fmt: skip


def publish_job_status(ctx: click.Context, result: JobStatusList) -> int | None:
    """`cloudsync status`: a job in quarantine fails (CRITICAL), any other passes."""
    from psbridge.runbooks.report import Check, Report, Status

    checks = []
    for job in result.jobs:
        summary = job.summary()
        reason = f", quarantined: {summary.quarantine_reason} ({summary.quarantine_error})"
        reason = reason if job.is_quarantined else ""
        told = f"{job.code}{reason}; last run {summary.last_run_state or '-'} at {summary.last_run_ended or '-'}"
        status = Status.FAIL if job.is_quarantined else Status.PASS
        checks.append(Check(name=job.id, status=status, summary=told, target=job.template_id))
    report = Report(runbook="cloudsync-status", checks=tuple(checks))
    measures = [
        Measure("quarantined_jobs", len(result.quarantined), "Cloud Sync jobs in quarantine", crit="0"),
        Measure("jobs", len(result.jobs), "Cloud Sync jobs"),
    ]
    return publish(ctx, report, measures)


def publish_version(ctx: click.Context, result: VersionCheck, today: dt.date) -> int | None:
    """`adsync version`: below the minimum fails (CRITICAL); each lifecycle note is a check (critical fails,
    warning warns, info passes); days to end of support count from `today`, the date the notes were judged on."""
    from psbridge.adsync.policy import END_OF_SUPPORT
    from psbridge.runbooks.report import Check, Report, Status

    severity = {"critical": Status.FAIL, "warning": Status.WARN, "info": Status.PASS}
    told = f"{result.version} {'meets' if result.meets_minimum else 'is below'} the minimum {result.minimum}"
    checks = [
        Check(name="minimum", status=Status.PASS if result.meets_minimum else Status.FAIL, summary=told,
              target=result.target),
        *(Check(name=note.id, status=severity[note.severity], summary=note.message, target=result.target)
          for note in result.notes),
    ]  # fmt: skip
    report = Report(runbook="adsync-version", checks=tuple(checks))
    end = END_OF_SUPPORT.get(result.version)
    measures = [_days_left(end, today)] if end is not None else []
    return publish(ctx, report, measures, exit_code=0 if result.meets_minimum else 1)
