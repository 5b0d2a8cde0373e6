"""Text output that fits the terminal (psbridge.cli.output): tables, `label  value` views and runbook reports."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from typing import Any

import pytest
from helpers import DEMO

from psbridge.cli.output import fit, terminal_width, wrap

# The demo's commands the issue names, and what each prints: a list table, a `label  value` view, a report.
COMMANDS = {
    "exo mailbox list": "table",
    "adsync connectors": "table",
    "adsync run-history": "table",
    "cloudsync jobs": "table",
    "cloudsync status --via graph": "table",
    "adsync global-settings": "details",
    "check cloud-managed-readiness": "report",
    "selftest --target exo": "report",  # one target: the whole selftest is 5 s, and prints the same way
}


def run(cli: Any, monkeypatch: pytest.MonkeyPatch, command: str, columns: int | None) -> list[str]:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", str(columns))
    result = cli("--replay", DEMO, *command.split())
    assert result.code in (0, 1), result
    lines: list[str] = result.out.splitlines()
    return lines


def _bare(text: str) -> str:
    return re.sub(r"\s", "", text)


def by_column(lines: list[str]) -> list[str]:
    """A list table's text per column, whitespace dropped: where its header's words start, its cells are."""
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    ends = [*starts[1:], None]
    return [_bare("".join(line[a:b] for line in lines)) for a, b in zip(starts, ends, strict=True)]


def by_label(lines: list[str]) -> list[tuple[str, str]]:
    """A `label  value` view's rows, continuation lines joined, whitespace dropped."""
    start = min(m.start(2) for line in lines if (m := re.match(r"(\S+)\s\s+(\S)", line)))
    rows: list[tuple[str, str]] = []
    for line in lines:
        label, value = _bare(line[:start]), _bare(line[start:])
        if label and not line[0].isspace() and (not rows or rows[-1][1] or value):
            rows.append((label, value))
        else:  # a continuation: of the label, the value, or both
            rows[-1] = (rows[-1][0] + label, rows[-1][1] + value)
    return rows


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("columns", [80, 200])
def test_the_demos_output_fits_the_width_and_keeps_every_character(
    cli: Any, monkeypatch: pytest.MonkeyPatch, command: str, columns: int
) -> None:
    wide = run(cli, monkeypatch, command, None)
    fitted = run(cli, monkeypatch, command, columns)
    assert all(len(line) <= columns for line in fitted), max(fitted, key=len)
    kind = COMMANDS[command]
    if kind == "report" or max(len(line) for line in wide) <= columns:  # wrapped in place: the same text
        assert _bare("".join(fitted)) == _bare("".join(wide))
    elif kind == "details":
        assert by_label(fitted) == by_label(wide)
    else:
        note = [line for line in wide if line.startswith("(not shown: ")]
        assert note == [line for line in fitted if line.startswith("(not shown: ")]
        table, fitted = wide[: len(wide) - len(note)], fitted[: len(fitted) - len(note)]
        if "" not in fitted:  # still a table
            assert by_column(fitted) == by_column(table)
        else:  # too narrow for a table: one `label  value` view per row, with every cell of the row
            blocks = "\n".join(fitted).split("\n\n")
            assert len(blocks) == len(table) - 1
            for block, row in zip(blocks, table[1:], strict=True):
                assert "".join(value for _, value in by_label(block.splitlines())) == _bare(row)


def test_the_issues_widest_tables_now_fit(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert max(len(line) for line in run(cli, monkeypatch, "cloudsync status --via graph", None)) > 190
    lines = run(cli, monkeypatch, "exo mailbox list", 80)
    assert lines[0].split() == ["identity", "user_principal_name", "recipient_", "is_dir_synced", "is_exchange_"]
    assert lines[1].split() == ["type_details", "cloud_managed"]  # a header wraps after its `_`
    assert lines[2].split()[:2] == ["Adele", "Vance"] and "yes" in lines[2]


def test_off_a_terminal_without_columns_a_row_is_one_line(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = run(cli, monkeypatch, "exo mailbox list", None)
    assert len(lines) == 5 and lines[0].split() == [
        "identity", "user_principal_name", "recipient_type_details", "is_dir_synced", "is_exchange_cloud_managed",
    ]  # fmt: skip
    assert [line.split("  ")[0] for line in lines[1:]] == ["Adele Vance", "Alex Wilber", "Sales", "Megan Bowen"]
    assert any(line.startswith("AD2AADProvisioning.d41e7a3c") for line in run(cli, monkeypatch, "cloudsync jobs", None))


def test_json_does_not_depend_on_the_width(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for command in ("exo mailbox list", "cloudsync settings", "adsync connectors"):
        wide = run(cli, monkeypatch, f"-o json {command}", None)
        assert run(cli, monkeypatch, f"-o json {command}", 40) == wide


def test_nested_objects_are_a_detail_view_not_json(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = run(cli, monkeypatch, "cloudsync settings", None)
    assert not any("{" in line for line in settings)
    assert re.match(r"settings\.DomainFQDN +contoso\.example$", settings[1])
    assert settings.count("") == 1  # a blank line between the two jobs' views
    mailbox = run(cli, monkeypatch, "exo mailbox get --identity adele@contoso.example", None)
    addresses = next(line for line in mailbox if line.startswith("email_addresses"))
    assert addresses.split(None, 1)[1] == (
        "SMTP:adele@contoso.example, smtp:adele@contoso.mail.onmicrosoft.com, smtp:adele@contoso.onmicrosoft.com"
    )


def test_a_list_table_names_the_fields_it_leaves_out(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(cli, monkeypatch, "adsync connectors", None)[-1] == "(not shown: partitions; see -o json)"
    assert run(cli, monkeypatch, "exo mailbox list", None)[-1].startswith("Megan Bowen")  # nothing left out


def test_a_detail_view_flattens_nested_objects() -> None:
    from psbridge.cli.output import _details

    rows = [("job", {"id": "j1", "schedule": {"interval": "PT40M"}}), ("steps", [{"n": 1}, {"n": 2}]), ("x", {})]
    assert _details(rows, None) == [
        "job.id                 j1",
        "job.schedule.interval  PT40M",
        "steps[0].n             1",
        "steps[1].n             2",
        "x                      -",
    ]


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("contoso.onmicrosoft.com - AAD", 20, ["contoso.onmicrosoft.", "com - AAD"]),
        ("psbridge exo cloud-managed set --identity ID", 30, ["psbridge exo cloud-managed set", "--identity ID"]),
        ("is_exchange_cloud_managed", 13, ["is_exchange_", "cloud_managed"]),
        ("0123456789abcdef", 6, ["012345", "6789ab", "cdef"]),  # no break: cut inside, nothing lost
        ("  indented start", 40, ["  indented start"]),
        ("two\nlines", 40, ["two", "lines"]),
    ],
)
def test_wrap(text: str, width: int, lines: list[str]) -> None:
    assert wrap(text, width) == lines


def test_fit_narrows_the_widest_column_first() -> None:
    cells = [["a", "x" * 30, "short"], ["b", "y y y y y y y y y y", "also"]]
    assert fit(cells, None, header=["k", "long", "tail"]) == [
        "k  long                            tail",
        "a  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx  short",
        "b  y y y y y y y y y y             also",
    ]
    lines = fit(cells, 30, header=["k", "long", "tail"])
    assert lines is not None and all(len(line) <= 30 for line in lines)
    assert lines == [
        "k  long                  tail",
        "a  xxxxxxxxxxxxxxxxxxxx  short",
        "   xxxxxxxxxx",
        "b  y y y y y y y y y y   also",
    ]  # only "long" narrowed, to its longest word (at most 20): the row of short words stays whole
    assert fit([["x" * 40, "y" * 40]], 30, header=["a", "b"], squeeze=False) is None  # words cut: not a table


def test_the_width_is_columns_else_the_terminals_else_none(mocker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    mocker.patch.object(sys.stdout, "isatty", return_value=False)
    assert terminal_width() is None
    monkeypatch.setenv("COLUMNS", "120")
    assert terminal_width() == 120
    monkeypatch.setenv("COLUMNS", "wide")
    mocker.patch.object(sys.stdout, "isatty", return_value=True)
    mocker.patch("shutil.get_terminal_size", return_value=os.terminal_size((64, 24)))
    assert terminal_width() == 64


def test_report_statuses_keep_their_colour_when_wrapped(cli: Any, monkeypatch: pytest.MonkeyPatch, mocker: Any) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    mocker.patch("click.utils.should_strip_ansi", return_value=False)  # as at a terminal
    lines = cli("--replay", DEMO, "check", "cloud-managed-readiness").out.splitlines()
    warn = next(line for line in lines if "synced-mailboxes" in line)
    assert "\x1b[33m" in warn  # WARN in yellow
    assert all(len(re.sub(r"\x1b\[[0-9;]*m", "", line)) <= 60 for line in lines)


def test_a_changes_times_read_as_the_tables_show_them() -> None:
    from psbridge.cli.output import _text

    assert _text(dt.timedelta(minutes=40)) == "00:40:00"  # what set-scheduler --interval takes back
    assert _text(dt.datetime(2026, 11, 25, 12, 30, tzinfo=dt.UTC)) == "2026-11-25T12:30:00Z"
