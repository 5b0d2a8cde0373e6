"""Authoring synthetic recordings from a declarative description, through psrpcore's serializer.

A synthetic recording stands in for a session nobody captured on a real host. Its shapes (type names,
property names, value formats, error texts) must be what real hosts send, taken from the public captures
and documentation its source names in its header, and the file says `origin: synthetic`. The description is YAML:

    description: what this environment is
    target: {endpoint, configuration_name, ps_version, protocol_version}
    episodes:
      - command: Get-Thing            # or  script: adsync/Get-GlobalParameters.ps1
        parameters: [{name: Identity, value: x}, {name: Password, secret: true}]
        # or, for several piped commands:  pipeline: [{command: ..., parameters: ...}, ...]
        output:                       # in order: objects, or plain values (a string, {I32: 3}, ...)
          - type_names: [System.Management.Automation.PSCustomObject, System.Object]
            to_string: auto           # auto = PowerShell's @{A=1; B=2} form for PSCustomObject
            properties: {Name: x, Count: {I32: 3}, When: {DT: '2026-01-01T00:00:00Z'}}
            # adapted: true;  deserialized: 1   (see below)
          - just a string
        errors:   [{message, fully_qualified_error_id, category, exception_type, target_name, activity}]
        warnings: [text]   verbose: [text]   debug: [text]   information: [text]
        terminating_error: {...same fields as errors...}   # ends the pipeline Failed

Plain YAML strings, ints, bools and lists serialize as S, I32, B and a list (psrpcore writes a list as a
`System.Collections.ArrayList`: use it only where the real value is one); a one-key mapping picks the CLIXML
type: S, I32, I64, U32, B, Db, DT, TS, Version, G, Nil. A `DT` keeps the offset it is written with
(`2026-11-17T06:03:55-08:00` for a server's local time, `...Z` for UTC), as .NET writes a Local or Utc DateTime.

Values shaped the way Windows hosts send them (psbridge.replay.shapes holds the type-name chains and says
where each comes from):

    EmailAddresses: {ProxyAddressCollection: ["SMTP:a@x.example", "smtp:b@x.example"]}   # Exchange
    MemberOf: {ADPropertyValueCollection: ["CN=...,DC=x"]}                                # Active Directory
    Names: {"String[]": [a, b]}        # a script's [string[]]
    Rows: {"Object[]": [a, b]}         # a script's @(...) or , @(...)
    Other: {ArrayList: [a]}            # a real System.Collections.ArrayList
    ObjectClass: {LST: [top, msExchAcceptedDomain], collection: "MultiValuedProperty<System.String>"}
    Anything: {LST: [...], type_names: [X, System.Object]}        # any other typed collection, chain written out
    DomainType: {Enum: Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomainType,
                 ToString: Authoritative, I32: 0}     # an enum object: <Obj> with the TN chain X, System.Enum,
                                                      # System.ValueType, System.Object, <ToString> and <I32>
                                                      # (or I64, U32: the enum's underlying type)
    ProhibitSendQuota: {ByteQuantifiedSize: 53150121984}   # <S>49.5 GB (53,150,121,984 bytes)</S>
    IssueWarningQuota: {ByteQuantifiedSize: Unlimited}     # <S>Unlimited</S>

An object's `properties` are note properties (`<MS>`), as on a `[pscustomobject]` or `Select-Object` row;
with `adapted: true` they are adapted properties (`<Props>`), as on a cmdlet's own .NET object (Exchange
and AD objects). `deserialized: N` on an object writes every type name in it,
and in every object, enum and collection inside it, with N `Deserialized.` prefixes: 1 for an object that
crossed one remoting hop and was sent on (an Exchange Online object through a jump host). The collection
and enum forms take `deserialized:` too.

Run it with `python scripts/author_recording.py SOURCE -o OUTPUT`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import yaml
from defusedxml.ElementTree import fromstring
from psrpcore._crypto import PSRemotingCrypto
from psrpcore.types import (
    ApplicationPrivateData,
    DebugRecord,
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    InformationRecordMsg,
    NETException,
    PipelineState,
    PSDateTime,
    PSDuration,
    PSEnumBase,
    PSGuid,
    PSInt,
    PSInt64,
    PSInvocationState,
    PSList,
    PSNoteProperty,
    PSObject,
    PSUInt,
    PSVersion,
    RunspacePoolState,
    RunspacePoolStateMsg,
    SessionCapability,
    VerboseRecord,
    WarningRecord,
    serialize,
)
from psrpcore.types._base import PSObjectMeta
from psrpcore.types._enum import PSEnumMeta
from psrpcore.types._primitive import PSIntegerBase

from psbridge import ps, safeio
from psbridge.errors import InputError
from psbridge.ps import script_digest
from psbridge.replay import shapes
from psbridge.replay.cassette import Cassette, Target
from psbridge.replay.episodes import Episode, RecordedMessage
from psbridge.replay.keys import Key, Param, Statement, canonical

_CIPHER = PSRemotingCrypto()
# Sources share repeated values through YAML anchors and aliases; the document they expand to is bounded.
MAX_SOURCE_NODES = 1_000_000


def _clixml(obj: Any) -> str:
    element = serialize(obj, _CIPHER)
    for node in element.iter("Obj"):  # PowerShell's order: TN, ToString, the value, Props, MS
        node[:] = sorted(node, key=lambda child: _ORDER.get(child.tag, 2))
    return ET.tostring(element, encoding="unicode")


_ORDER = {"TN": 0, "TNRef": 0, "ToString": 1, "Props": 3, "MS": 4}


def _duration(text: str) -> PSDuration:
    days, _, clock = text.rpartition(".") if text.count(":") == 2 and "." in text.split(":")[0] else ("", "", text)
    hours, minutes, seconds = clock.split(":")
    span = PSDuration(days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=float(seconds))
    if misserialized_duration(span):
        raise ValueError(
            f"TS {text!r}: psrpcore 0.3 writes a whole number of seconds ending in 0 wrongly (10 s as PT1S)"
        )
    return span


def misserialized_duration(span: dt.timedelta) -> bool:
    """psrpcore 0.3.1's TimeSpan text strips the characters `.` and `0` from the right of the seconds, so a whole
    number of seconds that ends in 0 loses it (`10.0000000` becomes `PT1S`)."""
    seconds = abs(span).seconds % 60
    return abs(span).microseconds == 0 and seconds % 10 == 0 and seconds != 0


_TYPED: dict[str, Callable[[Any], Any]] = {
    "S": str,
    "I32": int,
    "I64": PSInt64,
    "U32": PSUInt,
    "B": bool,
    "Db": float,
    "DT": lambda v: PSDateTime.fromisoformat(str(v).replace("Z", "+00:00")),
    "TS": _duration,
    "Version": lambda v: PSVersion(str(v)),
    "G": lambda v: PSGuid(str(v)),
    "Nil": lambda v: None,
}


_INTEGERS: dict[str, type[PSIntegerBase]] = {"I32": PSInt, "I64": PSInt64, "U32": PSUInt}


def _value(value: Any, hops: int = 0) -> Any:
    """One property value or output item; `hops` is the `Deserialized.` prefix count of the enclosing object."""
    if isinstance(value, Mapping):
        hops = int(value.get("deserialized", hops))
        if len(value) == 1:
            tag, raw = next(iter(value.items()))
            if tag in _TYPED:
                return _TYPED[tag](raw)
            if tag == "ByteQuantifiedSize":
                return shapes.byte_quantified_size(raw)
            if tag in shapes.COLLECTIONS or str(tag).startswith("MultiValuedProperty<"):
                return _collection(shapes.collection(str(tag)), raw, hops)
        if "LST" in value:
            chain = value.get("type_names") or shapes.collection(str(value["collection"]))
            return _collection(chain, value["LST"], hops)
        if "Enum" in value:
            return _enum(value, hops)
        if "properties" in value or "type_names" in value:
            return _object(value, hops)
    if isinstance(value, list):
        return [_value(v, hops) for v in value]
    return value


def _collection(type_names: Sequence[str], items: Any, hops: int) -> PSList:
    if not isinstance(items, list):
        raise ValueError(f"a collection's items are a list, not {items!r}")
    return _typed_list(shapes.deserialized(type_names, hops), [_value(item, hops) for item in items])


_ENUMS: dict[tuple[str, str, int, str, int], type[PSEnumBase]] = {}


def _enum(spec: Mapping[str, Any], hops: int) -> PSEnumBase:
    """An enum value as PowerShell sends it: `<Obj>` with the enum's chain, `<ToString>` and its number."""
    tags = [tag for tag in _INTEGERS if tag in spec]
    if len(tags) != 1 or "ToString" not in spec:
        raise ValueError(f"an Enum needs ToString and one of {', '.join(_INTEGERS)}: {dict(spec)!r}")
    type_name, text, number = str(spec["Enum"]), str(spec["ToString"]), int(spec[tags[0]])
    key = (type_name, text, number, tags[0], hops)
    if key not in _ENUMS:
        namespace: Any = PSEnumMeta.__prepare__("SyntheticEnum", (PSEnumBase,))
        namespace[text] = number
        cls: Any = PSEnumMeta("SyntheticEnum", (PSEnumBase,), namespace, base_type=_INTEGERS[tags[0]])
        cls.PSObject = PSObjectMeta(shapes.deserialized([type_name, *shapes.ENUM_BASES], hops))
        _ENUMS[key] = cls
    return _ENUMS[key](number)


def _object(spec: Mapping[str, Any], hops: int = 0) -> PSObject:
    hops = int(spec.get("deserialized", hops))
    obj = PSObject()
    type_names = list(spec.get("type_names") or ["System.Management.Automation.PSCustomObject", "System.Object"])
    obj.PSObject.type_names = shapes.deserialized(type_names, hops)
    properties = spec.get("properties") or {}
    values = {str(name): _value(value, hops) for name, value in properties.items()}
    members = obj.PSObject.adapted_properties if spec.get("adapted") else obj.PSObject.extended_properties
    for name, built in values.items():
        members.append(PSNoteProperty(name, built))
    to_string = spec.get("to_string", "auto")
    if to_string == "auto" and type_names[0].endswith("PSCustomObject"):
        to_string = "@{" + "; ".join(f"{k}={_display(v)}" for k, v in values.items()) + "}"
    if to_string and to_string != "auto":
        obj.PSObject.to_string = str(to_string)
    return obj


def _display(value: Any) -> str:
    """A value as PowerShell shows it inside a PSCustomObject's `@{...}` text."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, PSEnumBase):
        return str(value.name)
    if isinstance(value, PSList):
        return str(value.PSObject.type_names[0])
    if isinstance(value, list):
        return "System.Collections.ArrayList"
    return "" if value is None else str(value)


def _error(spec: Mapping[str, Any]) -> ErrorRecord:
    exception = NETException(Message=str(spec["message"]), HResult=int(spec.get("hresult", -2146233079)))
    exception_type = str(spec.get("exception_type", "System.Exception"))
    exception.PSObject.type_names = [
        exception_type,
        *([] if exception_type == "System.Exception" else ["System.SystemException"]),
        "System.Exception",
        "System.Object",
    ]
    category = ErrorCategory[str(spec.get("category", "NotSpecified"))]
    record = ErrorRecord(
        Exception=exception,
        CategoryInfo=ErrorCategoryInfo(
            Category=category,
            Activity=spec.get("activity"),
            Reason=spec.get("reason", exception_type.rsplit(".", 1)[-1]),
            TargetName=spec.get("target_name"),
            TargetType=spec.get("target_type"),
        ),
        FullyQualifiedErrorId=str(spec["fully_qualified_error_id"]),
        TargetObject=spec.get("target_name"),
    )
    record.PSObject.to_string = str(spec["message"])
    return record


def _typed_list(type_names: Sequence[str], items: Sequence[Any] = ()) -> PSList:
    """A list under the type names a host gives it (psrpcore alone would write an ArrayList)."""
    typed = PSList(items)
    typed.PSObject.type_names = list(type_names)
    return typed


def _versions(*texts: str) -> PSList:
    """`$PSVersionTable.PSCompatibleVersions` as a host sends it: a `System.Version[]`."""
    return _typed_list(shapes.VERSION_ARRAY, [PSVersion(text) for text in texts])


def pool_messages(target: Target) -> list[RecordedMessage]:
    """The server's side of opening a pool on a Windows PowerShell 5.1 endpoint."""
    version = PSVersion(target.ps_version or "5.1.17763.1")
    protocol = PSVersion(target.protocol_version or "2.3")
    table = {
        "PSVersion": version,
        "PSEdition": "Desktop",
        "PSCompatibleVersions": _versions("1.0", "2.0", "3.0", "4.0", "5.0", str(version)),
        "BuildVersion": PSVersion(f"10.0.{version.build}.{version.revision}" if version.build else "10.0.0.0"),
        "CLRVersion": PSVersion("4.0.30319.42000"),
        "WSManStackVersion": PSVersion("3.0"),
        "PSRemotingProtocolVersion": protocol,
        "SerializationVersion": PSVersion("1.1.0.1"),
    }
    return [
        RecordedMessage("SessionCapability", _clixml(SessionCapability(
            PSVersion=PSVersion("2.0"), protocolversion=protocol, SerializationVersion=PSVersion("1.1.0.1")))),
        RecordedMessage("ApplicationPrivateData", _clixml(ApplicationPrivateData(
            ApplicationPrivateData={"PSVersionTable": table}))),
        RecordedMessage("RunspacePoolState", _clixml(
            RunspacePoolStateMsg(RunspaceState=RunspacePoolState.Opened.value))),
    ]  # fmt: skip


def pool_versions(pool: Sequence[object]) -> tuple[str, str]:
    """(protocol version, PowerShell version) as a recorded pool handshake states them."""
    protocol = ps_version = ""
    for message in pool:
        if not isinstance(message, RecordedMessage):
            continue
        root = fromstring(message.clixml)
        for element in root.iter("Version"):
            if element.get("N") == "protocolversion" and message.type == "SessionCapability":
                protocol = element.text or ""
        if message.type == "ApplicationPrivateData":
            for entry in root.iter("En"):
                key = entry.find("S[@N='Key']")
                value = entry.find("Version[@N='Value']")
                if key is not None and key.text == "PSVersion" and value is not None:
                    ps_version = value.text or ""
    return protocol, ps_version


def _statement(spec: Mapping[str, Any]) -> Statement:
    params = tuple(
        Param(p.get("name"), None, True) if p.get("secret") else Param(p.get("name"), canonical(p.get("value")))
        for p in spec.get("parameters") or ()
    )
    if "script" in spec:
        name = str(spec["script"])
        return Statement(name, script_digest(ps.load(name)), params)
    return Statement(str(spec["command"]), None, params)


def _output(item: Any) -> Any:
    return _value(item)


def episode(spec: Mapping[str, Any]) -> Episode:
    statements = spec.get("pipeline", [spec])
    return Episode(Key(tuple(_statement(s) for s in statements)), reply(spec), "synthetic")


def reply(spec: Mapping[str, Any]) -> list[RecordedMessage]:
    """The server's messages for one pipeline: an episode's `output`, streams and final state."""
    messages = [RecordedMessage("PipelineOutput", _clixml(_output(o))) for o in spec.get("output") or ()]
    for kind, cls, record in (
        ("warnings", WarningRecord, "WarningRecord"),
        ("verbose", VerboseRecord, "VerboseRecord"),
        ("debug", DebugRecord, "DebugRecord"),
    ):
        for text in spec.get(kind) or ():
            obj = cls(Message=str(text))
            obj.PSObject.to_string = str(text)
            messages.append(RecordedMessage(record, _clixml(obj)))
    for text in spec.get("information") or ():
        info = InformationRecordMsg(
            MessageData=str(text), Source="synthetic", TimeGenerated=PSDateTime(2026, 1, 1, tzinfo=dt.UTC),
            Tags=_typed_list(shapes.STRING_LIST), User="CONTOSO\\svc-psbridge", Computer="target.example",
            ProcessId=1000, NativeThreadId=1, ManagedThreadId=1,
        )  # fmt: skip
        messages.append(RecordedMessage("InformationRecord", _clixml(info)))
    for err in spec.get("errors") or ():
        messages.append(RecordedMessage("ErrorRecord", _clixml(_error(err))))
    terminating = spec.get("terminating_error")
    state = PipelineState(PipelineState=int(PSInvocationState.Failed if terminating else PSInvocationState.Completed))
    if terminating:
        state.ExceptionAsErrorRecord = _error(terminating)
    messages.append(RecordedMessage("PipelineState", _clixml(state)))
    return messages


def author(source: Mapping[str, Any]) -> Cassette:
    target_spec = source.get("target") or {}
    target = Target(
        endpoint=str(target_spec.get("endpoint", "https://target.example:5986/wsman")),
        configuration_name=str(target_spec.get("configuration_name", "Microsoft.PowerShell")),
        protocol_version=str(target_spec.get("protocol_version", "2.3")),
        ps_version=str(target_spec.get("ps_version", "5.1.17763.1")),
    )
    return Cassette(
        origin="synthetic",
        target=target,
        pool=pool_messages(target),
        episodes=[episode(e) for e in source.get("episodes") or ()],
        description=str(source.get("description", "")),
        recorded_at=str(source.get("authored_at", "")),
        recorded_with={"psbridge-synthetic": "1"},
    )


class SourceExpansionError(yaml.YAMLError):
    """A source whose aliases expand past MAX_SOURCE_NODES values, or refer to themselves."""


def load_source(path: str | Path) -> Any:
    """A source's document: a regular UTF-8 file of bounded size (see `parse_source`)."""
    return parse_source(safeio.read_text(path, "source"))


def parse_source(text: str) -> Any:
    """A source's YAML, whose aliases may expand to at most MAX_SOURCE_NODES values (nested aliases make
    a few kilobytes expand into billions); raises SourceExpansionError, a `yaml.YAMLError`."""
    return yaml.load(text, Loader=_SourceLoader)  # noqa: S506 - a SafeLoader


class _SourceLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    def construct_document(self, node: Any) -> Any:
        _check_expansion(node, MAX_SOURCE_NODES)
        return super().construct_document(node)


def _check_expansion(root: Any, limit: int) -> None:
    """Count the values `root` expands to, each shared node once (linear in the text), refusing past `limit`."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # started and not finished: the path from the root
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        children = _children(node)
        if finished:
            open_nodes.discard(id(node))
            sizes[id(node)] = size = 1 + sum(sizes[id(child)] for child in children)
            if size > limit:
                raise SourceExpansionError(f"its YAML aliases expand to more than {limit} values{_line(node)}")
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise SourceExpansionError(f"a YAML alias refers to itself{_line(node)}")
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _line(node: Any) -> str:
    mark = getattr(node, "start_mark", None)
    return f" (line {mark.line + 1})" if mark is not None else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Turn a declarative description into a synthetic recording (or Graph HTTP cassette)."
    )
    parser.add_argument("source", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        source = load_source(args.source)
        if not isinstance(source, Mapping):
            raise InputError(f"{args.source}: the description is not a mapping")
        if "interactions" in source:  # a Graph HTTP cassette
            from psbridge.replay.graph_http import author_graph_cassette

            args.output.write_text(author_graph_cassette(source), encoding="utf-8")
        else:
            author(source).save(args.output, verify=True)
    except (OSError, yaml.YAMLError, InputError, KeyError, ValueError) as exc:
        print(f"psbridge-author: {args.source}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
