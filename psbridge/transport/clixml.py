"""psbridge's own CLIXML decoder: every object a host sends, as plain Python values and `PSObjectData`.

Why not pypsrp's or psrpcore's deserializer: pypsrp 0.9 leaves every collection whose type it does not
know (Exchange's `ProxyAddressCollection`, AD's `ADPropertyValueCollection`, `MultiValuedProperty`1[…]`)
as raw `<LST>` text and returns an object whose type names carry more than one `Deserialized.` prefix
as a string; it also re-serializes every element it visits, which makes it the bottleneck of a large
listing. psrpcore's deserializer is faithful but builds a dynamic class per type-name chain and is not
faster. `scripts/bench.py` measures all three on the same objects.

The mapping follows MS-PSRP 2.2.5 (serialization of objects), described at
https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/c2ebd1a9-7e39-4a1b-9adb-8b2a4e9d2d25:

| CLIXML | Python |
|---|---|
| `S`, `XD`, `SBK`, `URI` | `str` (`_xHHHH_` escapes decoded, surrogate pairs joined) |
| `C` | a one-character `str` |
| `B` | `bool` |
| `By`, `SB`, `U16`, `I16`, `U32`, `I32`, `U64`, `I64` | `int` |
| `Sg`, `Db` | `float` (`INF`, `-INF`, `NaN` included) |
| `D` | `decimal.Decimal` |
| `DT` | `datetime`, aware with the offset the host sent (naive for an Unspecified kind); 100 ns dropped |
| `TS` | `timedelta` (xs:duration) |
| `G` | `uuid.UUID` |
| `BA` | `bytes` |
| `Version` | `str` (`2.5.190.0`) |
| `Nil` | `None` |
| `SS` | `UNREADABLE`: a SecureString is never decrypted |
| `<Obj>` with `LST`/`IE`/`STK`/`QUE` and no properties, under any type name | `list` (wire order) |
| `<Obj>` with `DCT` and no properties | `dict` |
| `<Obj>` whose type names include `System.Enum` | `EnumValue`: its text (`<ToString>`), the number kept |
| `<Obj>` wrapping only a primitive of its own type (`System.String`, …) | that primitive |
| any other `<Obj>` | `PSObjectData` (below) |
| `Ref`, `TNRef` | the object or type-name list the `RefId` names, within the same message |

A `PSObjectData` has the type names without any `Deserialized.` prefix; the adapted (`Props`) and extended
(`MS`) properties merged, extended last; the `<ToString>` text; and the primitive or collection it wraps as
`value`.

An object that refers to itself through a `Ref` (Exchange's `ADObjectId.DomainId`) is decoded once and
shared, as the host's object graph is.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from psbridge.result import UNREADABLE, EnumValue, PSObjectData, strip_deserialized

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_DURATION = re.compile(
    r"^(-)?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d*)?)S)?)?$"
)
_CONTAINERS = frozenset({"LST", "IE", "STK", "QUE"})
# Type names a primitive-wrapping <Obj> carries when it wraps a value of its own type.
_PRIMITIVE_TYPES = frozenset(
    {
        "System.String", "System.Char", "System.Boolean", "System.DateTime", "System.Decimal", "System.Byte",
        "System.SByte", "System.Int16", "System.UInt16", "System.Int32", "System.UInt32", "System.Int64",
        "System.UInt64", "System.Single", "System.Double", "System.TimeSpan", "System.Guid", "System.Uri",
        "System.Version", "System.Byte[]", "System.Xml.XmlDocument", "System.Management.Automation.ScriptBlock",
    }
)  # fmt: skip


class DecodeError(ValueError):
    """CLIXML that does not follow MS-PSRP (an unknown element, a dangling reference, bad text)."""


def unescape(text: str) -> str:
    """`_xHHHH_` escapes (MS-PSRP 2.2.5.3.2) back to characters, UTF-16 surrogate pairs joined."""
    if "_x" not in text:
        return text
    out = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if any("\ud800" <= c <= "\udfff" for c in out):
        out = out.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return out


def parse_datetime(text: str) -> dt.datetime:
    """xs:dateTime as .NET writes it: `2026-01-01T10:00:00.1234567+02:00`, `…Z`, or no offset (Unspecified)."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise DecodeError(f"not a DateTime: {text[:40]!r}") from None


def parse_duration(text: str) -> dt.timedelta:
    """xs:duration as .NET's XmlConvert writes a TimeSpan (`PT9.0269026S`, `-P1DT2H`)."""
    match = _DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "-P", "PT", "-PT"):
        raise DecodeError(f"not a TimeSpan: {text[:40]!r}")
    sign, years, months, days, hours, minutes, seconds = match.groups()
    if years or months:  # a TimeSpan has no calendar units; XmlConvert never writes them
        raise DecodeError(f"a TimeSpan with years or months: {text[:40]!r}")
    span = dt.timedelta(
        days=float(days or 0), hours=float(hours or 0), minutes=float(minutes or 0), seconds=float(seconds or 0)
    )
    return -span if sign else span


def _text(text: str | None) -> str:
    return unescape(text) if text else ""


def _int(text: str | None) -> int:
    return int(text or "")


_PRIMITIVES: dict[str, Callable[[str | None], Any]] = {
    "S": _text,
    "XD": _text,
    "SBK": _text,
    "URI": _text,
    "C": lambda t: chr(int(t or "")),
    "B": lambda t: (t or "").strip().lower() == "true",
    "By": _int,
    "SB": _int,
    "U16": _int,
    "I16": _int,
    "U32": _int,
    "I32": _int,
    "U64": _int,
    "I64": _int,
    "Sg": lambda t: float(t or ""),
    "Db": lambda t: float(t or ""),
    "D": lambda t: decimal.Decimal(t or ""),
    "DT": lambda t: parse_datetime(t or ""),
    "TS": lambda t: parse_duration(t or ""),
    "G": lambda t: uuid.UUID(t or ""),
    "BA": lambda t: base64.b64decode(t or ""),
    "Version": lambda t: t or "",
    "Nil": lambda t: None,
    "SS": lambda t: UNREADABLE,
}


class _Decoder:
    """One message's worth of decoding: `RefId` and `TNRef` are scoped to the message."""

    __slots__ = ("objects", "type_lists")

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}
        self.type_lists: dict[str, tuple[str, ...]] = {}

    def value(self, element: ET.Element) -> Any:
        tag = element.tag
        parse = _PRIMITIVES.get(tag)
        if parse is not None:
            try:
                return parse(element.text)
            except (ValueError, ArithmeticError) as exc:
                raise DecodeError(f"<{tag}> holds {str(element.text)[:40]!r}: {exc}") from None
        if tag == "Obj":
            return self.obj(element)
        if tag == "Ref":
            try:
                return self.objects[element.attrib["RefId"]]
            except KeyError:
                raise DecodeError(f"<Ref RefId={element.get('RefId')!r}> names no earlier object") from None
        raise DecodeError(f"unknown CLIXML element <{tag}>")

    def obj(self, element: ET.Element) -> Any:
        type_names: tuple[str, ...] = ()
        to_string: str | None = None
        primitive: Any = None
        container: list[Any] | dict[Any, Any] | None = None
        members: list[ET.Element] = []
        for child in element:
            tag = child.tag
            if tag == "TN":
                type_names = tuple(strip_deserialized(t.text or "") for t in child)
                self.type_lists[child.get("RefId", "")] = type_names
            elif tag == "TNRef":
                try:
                    type_names = self.type_lists[child.attrib["RefId"]]
                except KeyError:
                    raise DecodeError(f"<TNRef RefId={child.get('RefId')!r}> names no earlier type list") from None
            elif tag == "ToString":
                to_string = _text(child.text)
            elif tag == "Props" or tag == "MS":
                members.append(child)
            elif tag in _CONTAINERS:
                container = []
            elif tag == "DCT":
                container = {}
            else:
                primitive = self.value(child)
        ref = element.get("RefId")
        if not members:
            if container is not None:  # a collection under any type name
                if ref is not None:
                    self.objects[ref] = container
                self._fill(element, container)
                return container
            if "System.Enum" in type_names:
                result: Any = EnumValue(to_string if to_string is not None else str(primitive), primitive, type_names)
            elif type_names and type_names[0] in _PRIMITIVE_TYPES and (primitive is not None or to_string is None):
                result = primitive
            else:
                result = PSObjectData(type_names, {}, to_string, primitive)
            if ref is not None:
                self.objects[ref] = result
            return result
        properties: dict[str, Any] = {}
        data = PSObjectData(type_names, properties, to_string, primitive if container is None else container)
        if ref is not None:
            self.objects[ref] = data  # registered before its members: they may refer back to it
        if container is not None:
            self._fill(element, container)
        for group in members:  # Props (adapted) come before MS (extended): extended wins
            for member in group:
                name = member.get("N")
                if name is None:
                    raise DecodeError(f"a <{group.tag}> member <{member.tag}> has no name")
                properties[unescape(name)] = self.value(member)
        return data

    def _fill(self, element: ET.Element, container: list[Any] | dict[Any, Any]) -> None:
        for child in element:
            tag = child.tag
            if tag in _CONTAINERS and isinstance(container, list):
                container.extend(self.value(item) for item in child)
            elif tag == "DCT" and isinstance(container, dict):
                for entry in child:
                    key = value = None
                    for part in entry:
                        if part.get("N") == "Key":
                            key = self.value(part)
                        else:
                            value = self.value(part)
                    container[_hashable(key)] = value


def _hashable(key: Any) -> Any:
    try:
        hash(key)
    except TypeError:
        return str(key)
    return key


def parse(text: str | bytes) -> ET.Element:
    """The CLIXML's root element. A DTD (and so any entity) is refused: CLIXML never has one."""
    if (b"<!" in text) if isinstance(text, bytes) else ("<!" in text):
        raise DecodeError("CLIXML with a DTD or entity declaration")
    try:
        return ET.fromstring(text)  # noqa: S314 - no DTD (refused above), so no entity can expand
    except ET.ParseError as exc:
        raise DecodeError(f"malformed CLIXML: {exc}") from None


def decode(clixml: str | bytes | ET.Element) -> Any:
    """One serialized value (a PSRP message's payload) as plain Python values and `PSObjectData`."""
    element = clixml if isinstance(clixml, ET.Element) else parse(clixml)
    return _Decoder().value(element)
