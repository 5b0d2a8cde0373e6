"""The command groups' class: full command descriptions in help, and (the root) global options after the command.

`Group` lists each command with its whole first sentence, wrapped by click's formatter, where click cuts it
at the width left over (`...`). Every group of the CLI is one (`cls=Group`; a subgroup made with
`group.group()` inherits it); tests/test_global_options.py walks the tree to check.

`RootGroup` accepts the root's options after the command too, as az, gh and kubectl do:
`psbridge adsync version -o json` is `psbridge -o json adsync version`. Before click parses, a root option
that follows the command path is moved in front of it, with its value, unless the command (or a group on
the way to it) has an option of that name itself: there the command's own wins (`adsync sync --timeout` is
the sync's wait, not the global deadline). Nothing after `--` moves. A value that follows an option of the
command's own is never taken for an option, so `--identity -v` stays the identity "-v".
"""

from __future__ import annotations

from collections.abc import Sequence

import click

Options = dict[str, click.Option]  # by every name (`-o`, `--output`)

# Where a sentence does not end although a word ends in a period.
_ABBREVIATIONS = frozenset({"e.g.", "i.e.", "etc.", "vs.", "cf.", "(e.g.", "(i.e.", "(cf."})


def first_sentence(help_text: str) -> str:
    """The first sentence of a help text's first paragraph, whole: up to the first word ending in a period
    that is no abbreviation and is followed by a word that does not start in lowercase, or the paragraph."""
    words = help_text.partition("\n\n")[0].split()
    if words and words[0] == "\b":
        words = words[1:]
    for i, word in enumerate(words):
        ends = word.endswith(".") and word.lower() not in _ABBREVIATIONS
        if ends and (i == len(words) - 1 or not words[i + 1][0].islower()):
            return " ".join(words[: i + 1])
    return " ".join(words)


class Group(click.Group):
    """A click group whose command list shows each command's whole first sentence (click's formatter wraps it)."""

    group_class = type  # a subgroup made with `@group.group()` is a Group too

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            text = command.short_help or first_sentence(command.help or "")
            rows.append((name, text.strip()))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class RootGroup(Group):
    """The root group: its options are accepted after the command too (see the module doc)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Shell completion parses half-typed lines (resilient_parsing): those are left as they are.
        return super().parse_args(ctx, args if ctx.resilient_parsing else hoist_root_options(self, args))


def hoist_root_options(root: click.Group, args: Sequence[str]) -> list[str]:
    """`args` with every root option that follows the command path (and is no option of the command or of a
    group on its way) moved, with its value, to just before the command path."""
    roots = _options(root)
    head = 0
    while head < len(args) and args[head] != "--" and (span := _span(args, head, {}, roots))[1]:
        head += span[0]  # the root options given before the command stay first
    kept: list[str] = list(args[:head])
    moved: list[str] = []
    own: Options = dict.fromkeys(_HELP, _HELP_OPTION)
    command: click.Command = root
    i = head
    while i < len(args):
        arg = args[i]
        if arg == "--":
            kept.extend(args[i:])
            break
        if not _is_option(arg):
            kept.append(arg)
            sub = command.commands.get(arg) if isinstance(command, click.Group) else None
            if sub is not None:
                command = sub  # one more step of the command path: its options shadow the root's from here
                own.update(_options(sub))
            i += 1
            continue
        # Before any command (an unknown root option stopped the head): left as it is, for click to name.
        words, move = _span(args, i, own, roots) if command is not root else (len(args) - i, False)
        (moved if move else kept).extend(args[i : i + words])
        i += words
    return [*kept[:head], *moved, *kept[head:]]


# The help options of every command (context_settings of the root): never the root's to take.
_HELP = ("-h", "--help")
_HELP_OPTION = click.Option(list(_HELP), is_flag=True, expose_value=False)


def _span(args: Sequence[str], i: int, own: Options, roots: Options) -> tuple[int, bool]:
    """How many words the option at args[i] spans, and whether it moves: a root option the command does not
    shadow moves; the command's own option, or an unknown one (click will name it), stays."""
    arg = args[i]
    name, eq, _ = arg.partition("=")
    if not arg.startswith("--"):
        name, eq = arg[:2], "=" if len(arg) > 2 else ""  # -ojson: the value attached
    if name in own:
        return 1 + _values(own[name], args, i, bool(eq)), False
    if name not in roots:
        return 1, False
    option = roots[name]
    if not _takes_value(option) and eq and not arg.startswith("--"):  # -vv: each letter a root flag not shadowed
        flags = [f"-{c}" for c in arg[1:]]
        if not all(f in roots and f not in own and not _takes_value(roots[f]) for f in flags):
            return 1, False
    return 1 + _values(option, args, i, bool(eq)), True


def _values(option: click.Option, args: Sequence[str], i: int, attached: bool) -> int:
    """How many of the words after args[i] are the option's values (none for a flag, or a value attached).

    Raises:
        click.BadOptionUsage: the command line ends before the values: moved, the option would take the
            command's name for its value.
    """
    if not _takes_value(option) or attached:
        return 0
    if len(args) - i - 1 < option.nargs:
        raise click.BadOptionUsage(args[i], f"Option '{args[i]}' requires an argument.")
    return option.nargs


def _takes_value(option: click.Option) -> bool:
    return not (option.is_flag or option.count)


def _is_option(arg: str) -> bool:
    return len(arg) > 1 and arg.startswith("-")


def _options(command: click.Command) -> Options:
    """A command's options by every name they have."""
    options = (p for p in command.params if isinstance(p, click.Option))
    return {name: p for p in options for name in (*p.opts, *p.secondary_opts)}


def shadowed_root_options(root: click.Group) -> dict[str, list[str]]:
    """Each command (`adsync sync`) whose own options, or a group's on its way, shadow root options, and which."""
    roots = _options(root)
    found: dict[str, list[str]] = {}

    def walk(group: click.Group, path: list[str], above: set[str]) -> None:
        for name, command in group.commands.items():
            names = above | set(_options(command))
            if isinstance(command, click.Group):
                walk(command, [*path, name], names)
            elif shadowed := sorted(n for n in names & roots.keys() if n.startswith("--")):
                found[" ".join([*path, name])] = shadowed

    walk(root, [], set())
    return found
