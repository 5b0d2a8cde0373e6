"""The normalized command that keys a recorded episode.

A key is what the server saw in CreatePipeline: each statement's cmdlet name or script, and its
parameters in order with canonical values. Packaged scripts are keyed by their name and the SHA-256 of
their normalized text, so an edited script never silently replays output recorded for its old text.
Values that were secret when recorded are stored as a wildcard and match any value on replay. Values a
scrub map changed when recorded (a user or host name replaced by its placeholder) are stored scrubbed,
marked `scrubbed: true`, and match any value too, but only where no unplayed episode matches exactly:
the client sends the real name on replay, which the file must not hold.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from psbridge.command import shown

SECRET = "<secret>"  # noqa: S105 - how a secret value is displayed


def canonical(value: Any) -> Any:
    """Reduce a parameter value, from either side of the wire, to plain JSON-able data."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | decimal.Decimal):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.timedelta):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, Iterable):
        return [canonical(v) for v in value]
    return str(value)


@dataclasses.dataclass(frozen=True)
class Param:
    name: str | None
    value: Any = None
    secret: bool = False
    scrubbed: bool = False  # the recorded value had a real name replaced: see the module docstring

    def matches(self, other: Param, *, loose: bool = True) -> bool:
        """Same name, and the same value, or a secret on either side; with `loose`, a scrubbed value too."""
        if self.name != other.name:
            return False
        if self.secret or other.secret or self.value == other.value:
            return True
        return loose and (self.scrubbed or other.scrubbed)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {} if self.name is None else {"name": self.name}
        if self.secret:
            data["secret"] = True
        else:
            data["value"] = self.value
            if self.scrubbed:
                data["scrubbed"] = True
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Param:
        secret = bool(data.get("secret", False))
        value = None if secret else canonical(data.get("value"))
        return cls(data.get("name"), value, secret, not secret and bool(data.get("scrubbed", False)))

    def display(self) -> str:
        value = SECRET if self.secret else shown(self.value)
        return value if self.name is None else f"-{self.name} {value}"


@dataclasses.dataclass(frozen=True)
class Statement:
    command: str  # cmdlet name, or the packaged script name for scripts
    script_sha256: str | None = None
    params: tuple[Param, ...] = ()

    def matches(self, other: Statement, *, loose: bool = True) -> bool:
        return (
            self.command.lower() == other.command.lower()
            and self.script_sha256 == other.script_sha256
            and len(self.params) == len(other.params)
            and all(a.matches(b, loose=loose) for a, b in zip(self.params, other.params, strict=True))
        )

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any]
        if self.script_sha256 is None:
            data = {"command": self.command}
        else:
            data = {"script": self.command, "sha256": self.script_sha256}
        if self.params:
            data["parameters"] = [p.to_data() for p in self.params]
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Statement:
        params = tuple(Param.from_data(p) for p in data.get("parameters") or ())
        if "script" in data:
            return cls(str(data["script"]), str(data["sha256"]), params)
        return cls(str(data["command"]), None, params)

    def display(self) -> str:
        head = f"script {self.command}" if self.script_sha256 else self.command
        return " ".join([head, *(p.display() for p in self.params)])


@dataclasses.dataclass(frozen=True)
class Key:
    statements: tuple[Statement, ...]

    def matches(self, other: Key, *, loose: bool = True) -> bool:
        """Whether a recorded key serves `other`; without `loose`, scrubbed values must match exactly."""
        return len(self.statements) == len(other.statements) and all(
            a.matches(b, loose=loose) for a, b in zip(self.statements, other.statements, strict=True)
        )

    def to_data(self) -> list[dict[str, Any]]:
        return [s.to_data() for s in self.statements]

    @classmethod
    def from_data(cls, data: Sequence[Mapping[str, Any]]) -> Key:
        return cls(tuple(Statement.from_data(s) for s in data))

    def display(self) -> str:
        return "; ".join(s.display() for s in self.statements)

    def redacted(self, is_secret: Callable[[Param], bool]) -> Key:
        """The same key with the parameters `is_secret` picks turned into secret wildcards."""
        return Key(
            tuple(
                dataclasses.replace(s, params=tuple(Param(p.name, None, True) if is_secret(p) else p for p in s.params))
                for s in self.statements
            )
        )

    def difference(self, recorded: Key) -> str:
        """The first way `recorded` differs from this key, in words: what a miss's reader needs when the two
        display alike (a difference past a list's first items, a script edited since it was recorded)."""
        if len(self.statements) != len(recorded.statements):
            return f"{len(recorded.statements)} statements recorded, {len(self.statements)} asked"
        for asked, kept in zip(self.statements, recorded.statements, strict=True):
            if asked.command.lower() != kept.command.lower():
                return f"`{kept.command}` recorded, `{asked.command}` asked"
            if asked.script_sha256 != kept.script_sha256:
                return f"script {asked.command} changed since it was recorded (its SHA-256 differs): record it again"
            names = [p.name for p in asked.params]
            kept_names = [p.name for p in kept.params]
            for name in names:
                if name not in kept_names:
                    return f"-{name} asked, not recorded"
            for name in kept_names:
                if name not in names:
                    return f"-{name} recorded, not asked"
            by_name = {p.name: p for p in kept.params}
            for param in asked.params:
                other = by_name[param.name]
                if not param.matches(other):
                    return f"-{param.name}: {_first_difference(other.value, param.value)}"
            if names != kept_names:
                return "the same parameters, in another order"
        return "nothing: it was already played"

    def distance(self, other: Key) -> float:
        """How far apart two keys are, for naming the nearest recorded command in a miss."""
        if len(self.statements) != len(other.statements):
            return 10.0 + abs(len(self.statements) - len(other.statements))
        score = 0.0
        for a, b in zip(self.statements, other.statements, strict=True):
            if a.command.lower() != b.command.lower():
                score += 5.0
            elif a.script_sha256 != b.script_sha256:
                score += 2.0
            names_a = [p.name for p in a.params]
            names_b = [p.name for p in b.params]
            score += len(set(names_a) ^ set(names_b))
            by_name = {p.name: p for p in b.params}
            score += sum(0.5 for p in a.params if p.name in by_name and not p.matches(by_name[p.name]))
        return score


def _first_difference(recorded: Any, asked: Any) -> str:
    """Where two parameter values part: the first differing item of two lists, else both values."""
    if isinstance(recorded, list) and isinstance(asked, list):
        for index, (kept, given) in enumerate(zip(recorded, asked, strict=False)):
            if kept != given:
                return f"item {index + 1} differs: {shown(kept)} recorded, {shown(given)} asked"
        return f"{len(recorded)} items recorded, {len(asked)} asked"
    return f"{shown(recorded)} recorded, {shown(asked)} asked"
