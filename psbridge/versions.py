"""Versions that compare like PowerShell `[version]`: four integer parts, never text.

`2.5.190.0` is newer than `2.5.79.0`. Three-part input is normalized to four parts (`2.5.79` is
`2.5.79.0`, unlike `[version]'2.5.79'` whose Revision is -1 and sorts below it), so a minimum given in
three parts means what the admin meant.
"""

from __future__ import annotations

import re
from functools import total_ordering
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import core_schema

from psbridge.errors import InputError

_PATTERN = re.compile(r"^\s*v?(\d{1,9})\.(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?\s*$")


@total_ordering
class Version:
    __slots__ = ("parts",)

    def __init__(self, text: str | Version) -> None:
        if isinstance(text, Version):
            self.parts: tuple[int, int, int, int] = text.parts
            return
        match = _PATTERN.match(str(text))
        if match is None:
            raise InputError(f"not a version: {text!r} (expected e.g. 2.5.79.0)")
        major, minor, build, revision = (int(g) if g is not None else 0 for g in match.groups())
        self.parts = (major, minor, build, revision)

    @classmethod
    def parse(cls, text: str) -> Version:
        return cls(text)

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.parts)

    def __repr__(self) -> str:
        return f"Version('{self}')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.parts == other.parts

    def __lt__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.parts < other.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        from pydantic_core import core_schema  # only when a model uses Version: --help loads no pydantic

        return core_schema.no_info_plain_validator_function(
            lambda v: v if isinstance(v, Version) else cls(str(v)),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )
