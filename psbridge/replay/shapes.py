"""The shapes real Windows hosts send for the properties psbridge reads, and a check of recordings against them.

A recording (captured or synthetic) is only worth testing against if its objects look like what a real host
sends: an Exchange `EmailAddresses` is a typed collection, never an `ArrayList`; an AD `GroupScope` is an enum
object, never a bare number. `check_recording` walks every object of every episode of a recording and returns one
`Violation` per property whose shape no real host sends; `check_tree` does every recording under a folder.

Where each shape comes from (public captures and documentation):

- A real Exchange 2016 `Get-Mailbox` over the `Microsoft.Exchange` remoting endpoint, as pypsrp received it
  (https://github.com/3gstudent/3gstudent.github.io/blob/master/_posts/---2022-10-1-pypsrp在Exchange%20Powershell下的优化.md):
  the un-prefixed type-name chain, every property adapted (`<Props>`), `EmailAddresses` as a
  `ProxyAddressCollection` `<Obj>` whose chain runs through ``ProxyAddressBaseCollection`1[[…]]``,
  ``MultiValuedProperty`1[[…]]`` and `MultiValuedPropertyBase` with an `<LST>` of `<S>`, other multi-valued
  properties as ``MultiValuedProperty`1[[T, …]]`` (an empty one as `<LST />`), enums (`RecipientTypeDetails`,
  `RecipientType`, `RemoteRecipientType`) as `<S>` names, `ByteQuantifiedSize` quotas as `<S>` text such as
  `Unlimited` or `30 GB (32,212,254,720 bytes)`, `ExchangeGuid` as `<G>`, `WhenChanged` as `<DT>` with the
  server's offset and `WhenChangedUTC` in UTC.
- Export-Clixml captures in Microsoft's CSS-Exchange test data
  (https://github.com/microsoft/CSS-Exchange/tree/main/Diagnostics/HealthChecker/Tests/DataCollection/E19/Exchange):
  `GetAcceptedDomain_Bad.xml` (an `AcceptedDomain` with `DomainType` as an enum `<Obj>`: type-name chain
  `…AcceptedDomainType`, `System.Enum`, `System.ValueType`, `System.Object`, then `<ToString>` and `<I32>`;
  ``MultiValuedProperty`1[[System.String, mscorlib, …]]``; `WhenChanged` with its offset) and
  `GetADPrincipalGroupMembership.xml` (`ADGroup` with `GroupCategory`/`GroupScope` enum objects).
- `ADPropertyValueCollection` derives from `System.Collections.CollectionBase`
  (https://learn.microsoft.com/dotnet/api/microsoft.activedirectory.management.adpropertyvaluecollection); AD's
  multi-valued properties such as `MemberOf` are of that type
  (https://learn.microsoft.com/powershell/module/activedirectory/get-aduser).
- What PowerShell sends for arrays and enums, and the `Deserialized.` prefix of an object that crossed one
  hop and was sent on (MS-PSRP 2.2.5.2.6 and 2.2.5.2.3:
  https://learn.microsoft.com/openspecs/windows_protocols/ms-psrp/; PowerShell's serializer writes an already
  deserialized object's type names verbatim:
  https://github.com/PowerShell/PowerShell/blob/master/src/System.Management.Automation/engine/serialization.cs).
- Rows of psbridge's own packaged scripts (`psbridge/ps/`): what each script builds, e.g.
  `exchange/Invoke-ExchangeCommand.ps1` sends `EmailAddresses` as `, @(...)`, a `System.Object[]`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from xml.etree.ElementTree import Element

import yaml
from defusedxml.ElementTree import fromstring

from psbridge import safeio
from psbridge.errors import InputError, RecordingFormatError
from psbridge.result import strip_deserialized

# -- type-name chains real hosts send ---------------------------------------------------------------------

MSCORLIB = "mscorlib, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089"
EXCHANGE_DATA = "Microsoft.Exchange.Data, Version=15.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35"
ASSEMBLIES = {"System.String": MSCORLIB, "System.Guid": MSCORLIB, "Microsoft.Exchange.Data.ProxyAddress": EXCHANGE_DATA}


def multi_valued_property(element: str) -> tuple[str, ...]:
    """Exchange's ``MultiValuedProperty`1[[<element type>]]`` chain for an element type named in `ASSEMBLIES`."""
    if element not in ASSEMBLIES:
        raise ValueError(f"no assembly known for {element!r}: write the type names out")
    return (
        f"Microsoft.Exchange.Data.MultiValuedProperty`1[[{element}, {ASSEMBLIES[element]}]]",
        "Microsoft.Exchange.Data.MultiValuedPropertyBase",
        "System.Object",
    )


_PROXY = f"[[Microsoft.Exchange.Data.ProxyAddress, {EXCHANGE_DATA}]]"
PROXY_ADDRESS_COLLECTION = (
    "Microsoft.Exchange.Data.ProxyAddressCollection",
    f"Microsoft.Exchange.Data.ProxyAddressBaseCollection`1{_PROXY}",
    f"Microsoft.Exchange.Data.MultiValuedProperty`1{_PROXY}",
    "Microsoft.Exchange.Data.MultiValuedPropertyBase",
    "System.Object",
)
AD_PROPERTY_VALUE_COLLECTION = (
    "Microsoft.ActiveDirectory.Management.ADPropertyValueCollection",
    "System.Collections.CollectionBase",
    "System.Object",
)
STRING_ARRAY = ("System.String[]", "System.Array", "System.Object")
OBJECT_ARRAY = ("System.Object[]", "System.Array", "System.Object")
VERSION_ARRAY = ("System.Version[]", "System.Array", "System.Object")
# InformationRecord.Tags: a List<string>.
STRING_LIST = (f"System.Collections.Generic.List`1[[System.String, {MSCORLIB}]]", "System.Object")
ARRAY_LIST = ("System.Collections.ArrayList", "System.Object")
ENUM_BASES = ("System.Enum", "System.ValueType", "System.Object")
# An Exchange recipient's chain below its own class (the 3gstudent capture above): Mailbox, RemoteMailbox, MailUser.
_RECIPIENT_BASES = (
    "Microsoft.Exchange.Data.Directory.Management.MailEnabledOrgPerson",
    "Microsoft.Exchange.Data.Directory.Management.MailEnabledRecipient",
    "Microsoft.Exchange.Data.Directory.Management.ADPresentationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ADRawEntry",
    "Microsoft.Exchange.Data.ConfigurableObject",
    "System.Object",
)


def recipient(kind: str) -> list[str]:
    """The type-name chain of an Exchange recipient object: `recipient("Mailbox")`, `"RemoteMailbox"`, ..."""
    return [f"Microsoft.Exchange.Data.Directory.Management.{kind}", *_RECIPIENT_BASES]


COLLECTIONS: dict[str, tuple[str, ...]] = {
    "ProxyAddressCollection": PROXY_ADDRESS_COLLECTION,
    "ADPropertyValueCollection": AD_PROPERTY_VALUE_COLLECTION,
    "String[]": STRING_ARRAY,
    "Object[]": OBJECT_ARRAY,
    "ArrayList": ARRAY_LIST,
}


def collection(name: str) -> tuple[str, ...]:
    """The chain of a collection named in `COLLECTIONS`, or ``MultiValuedProperty<T>``."""
    match = re.fullmatch(r"MultiValuedProperty<([\w.]+)>", name)
    if match:
        return multi_valued_property(match.group(1))
    if name not in COLLECTIONS:
        raise ValueError(f"unknown collection {name!r} (known: {', '.join(COLLECTIONS)}, MultiValuedProperty<T>)")
    return COLLECTIONS[name]


def deserialized(type_names: Iterable[str], hops: int) -> list[str]:
    """The chain as it arrives after `hops` re-serializations: the prefix on every name, once per hop."""
    return ["Deserialized." * hops + name for name in type_names]


_UNITS = ("B", "KB", "MB", "GB", "TB")
BYTE_QUANTIFIED_SIZE = re.compile(r"Unlimited|\d+(\.\d+)? (B|KB|MB|GB|TB) \(\d{1,3}(,\d{3})* bytes\)")


def byte_quantified_size(value: int | str) -> str:
    """Exchange's ByteQuantifiedSize text, `{0:G4} {1} ({2:N0} bytes)` in the invariant culture, or `Unlimited`."""
    if isinstance(value, str):
        if value != "Unlimited":
            raise ValueError(f"a ByteQuantifiedSize is a byte count or 'Unlimited', not {value!r}")
        return value
    power = 0
    while power < len(_UNITS) - 1 and value >= 1024 ** (power + 1):
        power += 1
    return f"{value / 1024**power:.4g} {_UNITS[power]} ({value:,} bytes)"


# -- what a recorded value looks like -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Value:
    """One serialized value: its tag, its type-name chain (resolved from TNRef, prefixes kept), its parts."""

    element: Element
    type_names: tuple[str, ...]

    @property
    def tag(self) -> str:
        return self.element.tag

    @property
    def plain_names(self) -> tuple[str, ...]:
        return tuple(strip_deserialized(n) for n in self.type_names)

    def child(self, tag: str) -> Element | None:
        return self.element.find(tag)

    def describe(self) -> str:
        if self.tag != "Obj":
            text = (self.element.text or "")[:60]
            return f"<{self.tag}>{text}</{self.tag}>" if text else f"<{self.tag}/>"
        parts = [" → ".join(self.type_names) or "no type names"]
        parts += [f"<{c.tag}>" for c in self.element if c.tag not in ("TN", "TNRef", "ToString", "Props", "MS")]
        return "<Obj> " + ", ".join(parts)


Test = Callable[[Value], bool]


def is_tag(*tags: str) -> Test:
    return lambda v: v.tag in tags


def is_collection(*chains: tuple[str, ...], items: str = "S") -> Test:
    """An `<Obj>` with one of `chains` (any number of `Deserialized.` prefixes) and an `<LST>` of `items`."""

    def test(v: Value) -> bool:
        lst = v.child("LST")
        return (
            v.tag == "Obj"
            and v.plain_names in chains
            and lst is not None
            and all(item.tag == items for item in lst)
            and _one_prefix_count(v.type_names)
        )

    return test


def is_enum(type_name: str | None = None) -> Test:
    """An enum `<Obj>`: chain `X`, System.Enum, System.ValueType, System.Object; `<ToString>`; an integer."""

    def test(v: Value) -> bool:
        names = v.plain_names
        return (
            v.tag == "Obj"
            and len(names) == 4
            and names[1:] == ENUM_BASES
            and (type_name is None or names[0] == type_name)
            and v.child("ToString") is not None
            and any(v.child(t) is not None for t in ("I32", "I64", "U32", "U64", "By", "I16", "U16", "SB"))
            and _one_prefix_count(v.type_names)
        )

    return test


def is_text(pattern: re.Pattern[str]) -> Test:
    return lambda v: v.tag == "S" and bool(pattern.fullmatch(v.element.text or ""))


def is_datetime(*, offset: bool) -> Test:
    """A `<DT>`; with `offset`, its text states the offset (`Z` or `±hh:mm`), as a Local or Utc DateTime does."""
    zone = re.compile(r".*(Z|[+-]\d\d:\d\d)")
    return lambda v: v.tag == "DT" and (not offset or bool(zone.fullmatch(v.element.text or "")))


def any_of(*tests: Test) -> Test:
    return lambda v: any(t(v) for t in tests)


NIL = is_tag("Nil")
TEXT = is_tag("S")
SCRIPT_ARRAY = is_collection(STRING_ARRAY, OBJECT_ARRAY)


def _one_prefix_count(type_names: Sequence[str]) -> bool:
    """One hop prefixes every name of a chain: the counts agree (PowerShell writes the chain verbatim)."""
    counts = {len(n) - len(strip_deserialized(n)) for n in type_names}
    return len(counts) <= 1


# -- the table ------------------------------------------------------------------------------------------------

EXCHANGE = "Exchange object"
AD = "Active Directory object"
ROW = "row of a psbridge script"
KINDS = (EXCHANGE, AD, ROW)


@dataclasses.dataclass(frozen=True)
class Rule:
    """What real hosts send for one property on one kind of object."""

    expected: str
    test: Test


_WHEN = Rule("<DT> with its offset (or <Nil/>)", any_of(is_datetime(offset=True), NIL))
_RECIPIENT_ENUM = Rule(
    "<S> name (remote endpoint) or an enum <Obj> (…, System.Enum, System.ValueType, System.Object) with "
    "<ToString> and its number, or <Nil/>",
    any_of(TEXT, is_enum(), NIL),
)
_QUOTA = Rule(
    "<S> ByteQuantifiedSize text: 'Unlimited' or '49.5 GB (53,150,121,984 bytes)'",
    is_text(BYTE_QUANTIFIED_SIZE),
)
_FLAG = Rule("<B> (or <Nil/>)", any_of(is_tag("B"), NIL))
_SCRIPT_TEXT = Rule("<S> (the script's [string]) or <Nil/>", any_of(TEXT, NIL))

RULES: dict[tuple[str, str], Rule] = {
    ("EmailAddresses", EXCHANGE): Rule(
        "a ProxyAddressCollection <Obj> (→ ProxyAddressBaseCollection`1 → MultiValuedProperty`1 → "
        "MultiValuedPropertyBase → System.Object) with an <LST> of <S>",
        is_collection(PROXY_ADDRESS_COLLECTION),
    ),
    ("EmailAddresses", ROW): Rule(
        "the script's array: a System.String[] or System.Object[] <Obj> with an <LST> of <S>", SCRIPT_ARRAY
    ),
    ("RecipientTypeDetails", EXCHANGE): _RECIPIENT_ENUM,
    ("RecipientType", EXCHANGE): _RECIPIENT_ENUM,
    ("PreviousRecipientTypeDetails", EXCHANGE): _RECIPIENT_ENUM,
    ("RemoteRecipientType", EXCHANGE): _RECIPIENT_ENUM,
    ("DomainType", EXCHANGE): Rule(
        "<S> name (remote endpoint) or an AcceptedDomainType enum <Obj> with <ToString> and <I32>",
        any_of(TEXT, is_enum("Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomainType")),
    ),
    ("RecipientTypeDetails", ROW): _SCRIPT_TEXT,
    ("RecipientType", ROW): _SCRIPT_TEXT,
    ("PreviousRecipientTypeDetails", ROW): _SCRIPT_TEXT,
    ("DomainType", ROW): _SCRIPT_TEXT,
    ("ExchangeGuid", EXCHANGE): Rule("<G>", is_tag("G")),
    ("ExchangeGuid", ROW): _SCRIPT_TEXT,
    ("ProhibitSendQuota", EXCHANGE): _QUOTA,
    ("ProhibitSendReceiveQuota", EXCHANGE): _QUOTA,
    ("IssueWarningQuota", EXCHANGE): _QUOTA,
    ("RecoverableItemsQuota", EXCHANGE): _QUOTA,
    ("ArchiveQuota", EXCHANGE): _QUOTA,
    ("WhenChanged", EXCHANGE): _WHEN,
    ("WhenCreated", EXCHANGE): _WHEN,
    ("WhenChangedUTC", EXCHANGE): Rule(
        "<DT> in UTC ('…Z')", lambda v: v.tag == "DT" and (v.element.text or "").endswith("Z")
    ),
    ("WhenChanged", ROW): _WHEN,
    ("IsDirSynced", EXCHANGE): _FLAG,
    ("IsDirSynced", ROW): _FLAG,
    ("IsExchangeCloudManaged", EXCHANGE): _FLAG,
    ("IsExchangeCloudManaged", ROW): _FLAG,
    ("MemberOf", AD): Rule(
        "an ADPropertyValueCollection <Obj> (→ System.Collections.CollectionBase → System.Object) with an <LST> of <S>",
        is_collection(AD_PROPERTY_VALUE_COLLECTION),
    ),
    ("LinkedGroupPolicyObjects", AD): Rule(
        "an ADPropertyValueCollection <Obj> with an <LST> of <S>", is_collection(AD_PROPERTY_VALUE_COLLECTION)
    ),
    ("GroupCategory", AD): Rule(
        "an ADGroupCategory enum <Obj> with <ToString> and <I32>",
        is_enum("Microsoft.ActiveDirectory.Management.ADGroupCategory"),
    ),
    ("GroupScope", AD): Rule(
        "an ADGroupScope enum <Obj> with <ToString> and <I32>",
        is_enum("Microsoft.ActiveDirectory.Management.ADGroupScope"),
    ),
    ("ObjectGUID", AD): Rule("<G>", is_tag("G")),
    ("Enabled", AD): _FLAG,
}


def kind_of(type_names: Sequence[str]) -> str | None:
    """Which kind of object a chain names: a raw Exchange or AD object, a script's row, or another."""
    names = [strip_deserialized(n) for n in type_names]
    if not names:
        return None
    if names[0].startswith("Microsoft.Exchange."):
        return EXCHANGE
    if names[0].startswith("Microsoft.ActiveDirectory.Management."):
        return AD
    if "System.Management.Automation.PSCustomObject" in names:
        return ROW
    return None


# -- walking recordings ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Violation:
    """One property whose shape no real host sends."""

    file: str
    command: str
    property: str
    found: str
    expected: str

    def __str__(self) -> str:
        return f"{self.file}: {self.command}: {self.property}: found {self.found}; real hosts send {self.expected}"


class _Walker:
    """Resolves TNRef within one message and checks every property of every object in it."""

    def __init__(self, file: str, command: str) -> None:
        self.file, self.command = file, command
        self.refs: dict[str, tuple[str, ...]] = {}
        self.found: list[Violation] = []

    def value(self, element: Element) -> Value:
        names: tuple[str, ...] = ()
        tn = element.find("TN")
        if tn is not None:
            names = tuple(t.text or "" for t in tn.findall("T"))
            self.refs[tn.get("RefId", "")] = names
        else:
            ref = element.find("TNRef")
            if ref is not None:
                names = self.refs.get(ref.get("RefId", ""), ())
        return Value(element, names)

    def fail(self, where: str, found: str, expected: str) -> None:
        self.found.append(Violation(self.file, self.command, where or "(the object)", found, expected))

    def walk(self, element: Element, where: str) -> None:
        if element.tag != "Obj":
            return
        value = self.value(element)
        if not _one_prefix_count(value.type_names):
            self.fail(where, value.describe(), "one `Deserialized.` prefix on every type name per hop")
        if "System.Enum" in value.plain_names and not is_enum()(value):
            self.fail(where, value.describe(), "an enum <Obj>: X, System.Enum, System.ValueType, System.Object, "
                      "<ToString> and its number")  # fmt: skip
        kind = kind_of(value.type_names)
        if kind in (EXCHANGE, AD) and element.find("MS") is not None and element.find("Props") is None:
            self.fail(where, "its properties as note properties (<MS>) only", "adapted properties (<Props>)")
        for group in ("Props", "MS"):
            members = element.find(group)
            for prop in members if members is not None else ():
                name = prop.get("N", "")
                path = f"{where}.{name}" if where else name
                self.property(kind, name, path, prop)
                self.walk(prop, path)
        for container in ("LST", "IE", "STK", "QUE"):
            items = element.find(container)
            for index, item in enumerate(items if items is not None else ()):
                self.walk(item, f"{where}[{index}]")
        dct = element.find("DCT")
        for entry in dct.findall("En") if dct is not None else ():
            for part in entry:
                self.walk(part, f"{where}{{{part.get('N', '')}}}")

    def property(self, kind: str | None, name: str, path: str, element: Element) -> None:
        value = self.value(element) if element.tag == "Obj" else Value(element, ())
        rules = [RULES[(name, kind)]] if kind is not None and (name, kind) in RULES else []
        if not rules and kind is None:  # an object of another kind: any of the kinds' shapes
            rules = [RULES[(name, k)] for k in KINDS if (name, k) in RULES]
        expected = " or ".join(dict.fromkeys(rule.expected for rule in rules))
        if kind in (EXCHANGE, AD) and value.plain_names[:1] == ("System.Collections.ArrayList",):
            self.fail(path, value.describe(), expected or "a typed collection, never an ArrayList, on a raw object")
        elif rules and not any(rule.test(value) for rule in rules):
            self.fail(path, value.describe(), expected)


def check_clixml(clixml: str, *, file: str = "", command: str = "") -> list[Violation]:
    """Every violation in one serialized object (one PSRP message's CLIXML)."""
    walker = _Walker(file, command)
    walker.walk(fromstring(clixml), "")
    return walker.found


def check_recording(path: str | Path) -> list[Violation]:
    """Every violation in one recording file; a file that is not a PSRP recording has none."""
    from psbridge.replay.cassette import Cassette, yaml_problem

    path = Path(path)
    try:
        data = safeio.load_yaml(safeio.read_text(path, "recording"))
    except InputError as exc:
        raise RecordingFormatError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise RecordingFormatError(f"recording {path} is {yaml_problem(exc)}") from None
    if not isinstance(data, dict) or "episodes" not in data or "pool" not in data:
        return []
    found: list[Violation] = []
    for episode in Cassette.from_data(data, path).episodes:
        command = " | ".join(s.command for s in episode.key.statements)
        for message in episode.messages:
            if message.type in ("PipelineOutput", "ErrorRecord", "InformationRecord"):
                found += check_clixml(message.clixml, file=str(path), command=command)
    return found


def recordings(root: str | Path) -> Iterator[Path]:
    """Every PSRP recording file under `root` (sources, the authoring descriptions, are not recordings)."""
    for path in sorted(Path(root).rglob("*.yaml")):
        if "sources" not in path.relative_to(root).parts:
            yield path


def check_tree(root: str | Path) -> list[Violation]:
    """Every violation in every recording under `root`."""
    return [v for path in recordings(root) for v in check_recording(path)]
