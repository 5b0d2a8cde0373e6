"""Global options after the command (psbridge.cli.group.RootGroup), and group help with whole descriptions."""

from __future__ import annotations

import re
from typing import Any

import click
import pytest
from helpers import DEMO, REPO

from psbridge.cli.group import Group, first_sentence, hoist_root_options, shadowed_root_options
from psbridge.cli.main import cli as root

D = str(DEMO)


def parsed(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The root's parsed options, and the command line left for the command, as click sees `psbridge ARGS`."""
    with root.make_context("psbridge", list(args)) as ctx:
        return ctx.params, [*ctx._protected_args, *ctx.args]


# Each command line, and the canonical one (root options first) it must parse the same as.
EQUIVALENT = [
    ("adsync version -o json", "-o json adsync version"),
    ("adsync version --output json", "--output json adsync version"),
    ("adsync version --output=json", "--output=json adsync version"),
    ("adsync version -ojson", "-ojson adsync version"),
    (f"--replay {D} adsync version --output json", f"--replay {D} --output json adsync version"),
    (f"adsync version --replay {D}", f"--replay {D} adsync version"),
    (f"adsync version --min 2.5.0.0 --replay={D} -o json", f"--replay={D} -o json adsync version --min 2.5.0.0"),
    ("adsync -o json version", "-o json adsync version"),  # between the group and its command
    ("exo mailbox list -v", "-v exo mailbox list"),
    ("exo mailbox list -vv", "-vv exo mailbox list"),
    ("-v exo mailbox list -v", "-v -v exo mailbox list"),  # counted, before and after alike
    ("-o table adsync version -o json", "-o table -o json adsync version"),  # the last wins, as written
    ("cloudsync --via graph status -o json", "-o json cloudsync --via graph status"),  # a group's option stays
    ("adsync version --no-tls --scrub a=b --scrub c=d", "--no-tls --scrub a=b --scrub c=d adsync version"),
    ("exo mailbox get --identity -v", "exo mailbox get --identity -v"),  # the value of the command's own option
    ("exo mailbox get --identity=-o", "exo mailbox get --identity=-o"),
    ("adsync sync --timeout 5 --yes", "adsync sync --timeout 5 --yes"),  # the command's own --timeout wins
    ("adsync sync --yes --timeout 5 -o json", "-o json adsync sync --yes --timeout 5"),
    ("serve-replay --port 1 --auth basic", "serve-replay --port 1 --auth basic"),
    ("selftest --target connect --record out", "selftest --target connect --record out"),
    ("config check -- -o json", "config check -- -o json"),  # nothing after -- moves
    ("adsync version --help -o json", "-o json adsync version --help"),  # the command's help stays its own
]


@pytest.mark.parametrize(("given", "canonical"), EQUIVALENT)
def test_global_options_after_the_command_parse_as_before_it(given: str, canonical: str) -> None:
    assert hoist_root_options(root, given.split()) == canonical.split()
    assert parsed(given.split()) == parsed(canonical.split())


def test_the_commands_own_option_wins() -> None:
    params, rest = parsed(["adsync", "sync", "--timeout", "5", "--yes"])
    assert params["timeout"] == 120.0 and rest == ["adsync", "sync", "--timeout", "5", "--yes"]
    params, rest = parsed(["--timeout", "5", "adsync", "sync", "--yes"])
    assert params["timeout"] == 5.0 and "--timeout" not in rest
    params, rest = parsed(["exo", "mailbox", "get", "--identity", "-v"])
    assert params["verbose"] == 0 and rest[-2:] == ["--identity", "-v"]


def test_the_examples_of_the_issue_run(cli: Any) -> None:
    canonical = cli("--replay", DEMO, "--output", "json", "adsync", "version")
    assert canonical.code == 0, canonical
    for args in (
        ["--replay", DEMO, "adsync", "version", "--output", "json"],
        ["adsync", "version", "--replay", DEMO, "-o", "json"],
        ["adsync", "version", "-o", "json", f"--replay={DEMO}"],
    ):
        result = cli(*args)
        assert (result.code, result.json()) == (0, canonical.json())
    listed = cli("exo", "mailbox", "list", "-v", "--replay", DEMO)
    assert listed.code == 0 and "Adele Vance" in listed.out
    assert "psbridge.invoke" in listed.err  # -v after the command: log events on stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["adsync", "version", "--replay", D, "-o", "bogus"], "'bogus' is not one of"),
        (["adsync", "version", "--replay", D, "--timeout", "nan"], "--timeout"),
        (["adsync", "version", "--replay", D, "--output"], "'--output' requires an argument"),  # not `adsync`
        (["adsync", "version", "--replay", D, "--bogus"], "--bogus"),  # no such option, root's or the command's
    ],
)
def test_a_bad_value_after_the_command_is_exit_2_on_one_line(cli: Any, args: list[str], says: str) -> None:
    assert says in cli(*args).one_line_error(2)


def test_shadowed_names_are_listed_in_the_root_help_and_the_readme(cli: Any) -> None:
    shadowed = shadowed_root_options(root)
    assert shadowed == {
        "adsync sync": ["--timeout"], "cloudsync connect": ["--timeout"], "config check": ["--timeout"],
        "serve-replay": ["--auth", "--port"], "selftest": ["--record", "--target"],
    }  # fmt: skip
    said = "Global options work before or after the command"
    for text in (cli("--help").out, (REPO / "README.md").read_text(encoding="utf-8")):
        text = " ".join(text.split())
        paragraph = text[text.index(said) :][:600]
        for command, names in shadowed.items():
            assert command in paragraph and all(name in paragraph for name in names), (command, paragraph)


# -- group help ----------------------------------------------------------------------------------------------


def groups(group: click.Group = root, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Group]]:
    found = [(path, group)]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(groups(command, (*path, name)))
    return found


def listed_commands(help_text: str) -> dict[str, str]:
    """The `Commands:` section of a group's help: each command and its description (wrapped lines joined)."""
    rows: dict[str, str] = {}
    section = help_text.partition("\nCommands:\n")[2]
    name = ""
    for line in section.splitlines():
        if match := re.match(r"  (\S+)(\s+(.*))?$", line):
            name = match[1]
            rows[name] = match[3] or ""
        elif line.startswith("   ") and name:
            rows[name] += " " + line.strip()
    return rows


@pytest.mark.parametrize(("path", "group"), groups(), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_group_help_shows_each_commands_whole_first_sentence(cli: Any, path: tuple[str, ...], group: Any) -> None:
    assert isinstance(group, Group)  # every group of the tree: `cls=Group` (or made by a Group's .group())
    result = cli(*path, "--help")
    assert result.code == 0, result
    rows = listed_commands(result.out)
    assert set(rows) == {n for n, c in group.commands.items() if not c.hidden}
    for name, text in rows.items():
        command = group.commands[name]
        whole = first_sentence(command.short_help or command.help or "")
        assert _bare(text) == _bare(whole), (name, text)  # click's wrapping may break after a hyphen
        assert not text.endswith("...") or (command.help or "").rstrip().endswith("...")


def test_cloudsync_help_no_longer_cuts_the_agents_description(cli: Any) -> None:
    rows = {name: _bare(text) for name, text in listed_commands(cli("cloudsync", "--help").out).items()}
    assert rows["agent"] == _bare(
        "The provisioning agent installed on the agent host, and its version (read from the host itself)."
    )
    assert rows["settings"] == _bare("Each job's settings (e.g. QuarantineTooManyDeletesThreshold).")


def commands(group: click.Group = root, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in group.commands.items():
        found.extend(
            commands(command, (*path, name)) if isinstance(command, click.Group) else [((*path, name), command)]
        )
    return found


def test_every_commands_own_help_text_is_whole(cli: Any) -> None:
    for path, command in commands():
        assert _bare(command.help or "") in _bare(cli(*path, "--help").out), path


def _bare(text: str) -> str:
    """`text` without its whitespace (and click's no-rewrap marker): what wrapping cannot change."""
    return re.sub(r"[\s\b]", "", text)


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("Each job's settings (e.g. QuarantineTooManyDeletesThreshold). More.", None),
        ("One thing. Another.", "One thing."),
        ("Compare a vs. b and go. Then.", "Compare a vs. b and go."),
        ("No period at all", "No period at all"),
        ("First paragraph.\n\nSecond.", "First paragraph."),
        ("Version 2.5.190.0 or later. Then more.", "Version 2.5.190.0 or later."),
    ],
)
def test_first_sentence(text: str, sentence: str | None) -> None:
    assert first_sentence(text) == (sentence or text.removesuffix(" More."))
