"""Recording files: reading, validating, scrubbing and writing them.

A recording is YAML. CLIXML bodies are stored as block text, one element per line, so a diff shows
which property changed; the line breaks are added on write and removed on read, which is exact because
they are only added to bodies that held no line break of their own (others are kept as one string).

    format_version: 1
    origin: recorded | synthetic
    description: free text
    recorded_at: ISO 8601
    recorded_with: {psbridge: ..., pypsrp: ..., psrpcore: ...}
    target: {endpoint, configuration_name, protocol_version, ps_version}
    pool: [ {type, clixml} ... ]          the server's side of opening the runspace pool
    episodes:
      - key: [ {command | script+sha256, parameters: [{name, value | secret: true}]} ]
        messages: [ {type, clixml} ... ]  output, error, warning, verbose, debug, information,
                                          progress records, and the final PipelineState
    faults: {seed, faults: [...]}         optional: how this host misbehaves on replay, in the
                                          fault-file format of psbridge.replay.faults

Credentials never reach a file: SecureStrings are replaced before writing, host names, user names and
tenant ids go through a scrub map, and writing is refused while any known secret is still in the text.

Scrubbing replaces values, and whole tokens in them, never the file's structure: the CLIXML text of
every message (type names excepted), parameter values in keys, the description and the endpoint. YAML
keys, format_version, origin, command and script names, digests, property names and type names are never
touched, and a name is replaced only where no letter or digit touches it, so scrubbing the user `ci`
leaves `Principal` alone. A parameter value that scrubbing changed is marked `scrubbed: true` and matches
any value on replay (see psbridge.replay.keys), since the client sends the real name. A recording is
read back before it takes its place: when it does not load, or a recorded command would not find its
episode and messages in it, the save is refused and the text kept beside it as `<name>.unverified`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, unescape

import yaml
from defusedxml.ElementTree import ParseError, fromstring

from psbridge import safeio
from psbridge.errors import InputError, RecordingFormatError, RecordingSecretError, ReplayError
from psbridge.redaction import secret_forms
from psbridge.replay.episodes import Episode, EpisodePlayer, RecordedMessage
from psbridge.replay.keys import Key, Param, Statement

FORMAT_VERSION = 1
ORIGINS = ("recorded", "synthetic")
MESSAGE_TYPES = frozenset(
    {
        "SessionCapability", "ApplicationPrivateData", "RunspacePoolState", "RunspacePoolInitData",
        "EncryptedSessionKey", "PublicKeyRequest", "RunspaceAvailability", "UserEvent",
        "PipelineOutput", "ErrorRecord", "PipelineState", "DebugRecord", "VerboseRecord", "WarningRecord",
        "ProgressRecord", "InformationRecord", "PipelineHostCall", "RunspacePoolHostCall",
    }
)  # fmt: skip
_SECURE_STRING = re.compile(r"<SS(\s+N=\"[^\"]*\")?>[^<]*</SS>")
_SPLIT = re.compile(r">(?=<)")
# A start tag and the text that follows it: the values of CLIXML (its attributes are names and RefIds).
_TEXT = re.compile(r"<([A-Za-z][\w.-]*)((?:\s[^>]*)?)>([^<]+)")
UNVERIFIED = ".unverified"  # appended to the name of a recording that was refused after writing

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclasses.dataclass(frozen=True)
class Target:
    endpoint: str = ""
    configuration_name: str = "Microsoft.PowerShell"
    protocol_version: str = ""
    ps_version: str = ""


@dataclasses.dataclass
class Cassette:
    origin: str
    target: Target
    pool: list[RecordedMessage]
    episodes: list[Episode]
    description: str = ""
    recorded_at: str = ""
    recorded_with: dict[str, str] = dataclasses.field(default_factory=dict)
    path: Path | None = None
    faults: dict[str, Any] | None = None  # validated by psbridge.replay.faults when it is served

    # -- reading ----------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Cassette:
        """A recording file: a regular file of bounded size, UTF-8, YAML without anchors or aliases."""
        path = Path(path)
        try:
            text = safeio.read_text(path, "recording")
        except InputError as exc:
            raise RecordingFormatError(str(exc)) from None
        return cls.parse(text, path)

    @classmethod
    def parse(cls, text: str, path: Path | None = None) -> Cassette:
        """A recording from its text; errors name `path`."""
        where = str(path) if path else "recording"
        try:
            data = safeio.load_yaml(text)
        except yaml.YAMLError as exc:
            raise RecordingFormatError(f"recording {where} is {yaml_problem(exc)}") from None
        return cls.from_data(data, path)

    @classmethod
    def from_data(cls, data: Any, path: Path | None = None) -> Cassette:
        where = str(path) if path else "recording"

        def bad(problem: str) -> RecordingFormatError:
            return RecordingFormatError(f"malformed recording {where}: {problem}")

        if not isinstance(data, Mapping):
            raise bad("the top level is not a mapping")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise RecordingFormatError(
                f"recording {where} has format_version {version!r}; this psbridge reads {FORMAT_VERSION}"
            )
        origin = data.get("origin")
        if origin not in ORIGINS:
            raise bad(f"origin must be one of {', '.join(ORIGINS)}, not {origin!r}")
        target_data = data.get("target")
        if not isinstance(target_data, Mapping) or not target_data.get("configuration_name"):
            raise bad("target.configuration_name is missing")
        target = Target(**{f.name: str(target_data.get(f.name) or "") for f in dataclasses.fields(Target)})
        pool = _messages(data.get("pool"), "pool", bad)
        if not pool:
            raise bad("pool holds no messages")
        episodes_data = data.get("episodes")
        if not isinstance(episodes_data, list):
            raise bad("episodes is not a list")
        episodes = []
        for index, item in enumerate(episodes_data):
            if not isinstance(item, Mapping) or not isinstance(item.get("key"), list) or not item["key"]:
                raise bad(f"episode {index} has no key")
            try:
                key = Key.from_data(item["key"])
            except (KeyError, TypeError, AttributeError) as exc:
                raise bad(f"episode {index} has a malformed key ({exc})") from None
            messages = _messages(item.get("messages"), f"episode {index}", bad)
            if not messages or messages[-1].type != "PipelineState":
                raise bad(f"episode {index} does not end with a PipelineState message")
            episodes.append(Episode(key, messages, where))
        with_data = data.get("recorded_with") or {}
        faults = data.get("faults")
        if faults is not None and not isinstance(faults, Mapping):
            raise bad("faults is not a mapping (seed, faults: [...])")
        return cls(
            origin=str(origin),
            target=target,
            pool=pool,
            episodes=episodes,
            description=str(data.get("description") or ""),
            recorded_at=str(data.get("recorded_at") or ""),
            recorded_with={str(k): str(v) for k, v in with_data.items()} if isinstance(with_data, Mapping) else {},
            path=path,
            faults=dict(faults) if faults is not None else None,
        )

    # -- writing ----------------------------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        data = {
            "format_version": FORMAT_VERSION,
            "origin": self.origin,
            "description": self.description,
            "recorded_at": self.recorded_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "recorded_with": dict(self.recorded_with),
            "target": dataclasses.asdict(self.target),
            "pool": [_message_data(m) for m in self.pool],
            "episodes": [{"key": ep.key.to_data(), "messages": [_message_data(m) for m in ep.messages]}
                         for ep in self.episodes],
        }  # fmt: skip
        if self.faults is not None:
            data["faults"] = self.faults
        return data

    def scrubbed(self, scrub: ScrubMap) -> Cassette:
        """A copy with the values scrubbed (see the module docstring for which parts are values)."""
        return dataclasses.replace(
            self,
            target=dataclasses.replace(self.target, endpoint=scrub.apply(self.target.endpoint)),
            pool=[scrub.message(m) for m in self.pool],
            episodes=[Episode(scrub.key(ep.key), [scrub.message(m) for m in ep.messages], ep.source)
                      for ep in self.episodes],
            description=scrub.apply(self.description),
        )  # fmt: skip

    def dumps(self, scrub: ScrubMap | None = None, secrets: Iterable[str] = ()) -> str:
        """The file's text, scrubbed; refuses when a known secret would be written."""
        return (self.scrubbed(scrub) if scrub is not None else self)._text(secrets)

    def _text(self, secrets: Iterable[str]) -> str:
        text = yaml.dump(self.to_data(), Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=4096)
        check_secrets(text, secrets)
        return text

    def save(
        self,
        path: str | os.PathLike[str],
        scrub: ScrubMap | None = None,
        secrets: Iterable[str] = (),
        *,
        verify: bool = False,
    ) -> None:
        """Write atomically: a refused or failed write leaves any earlier file untouched. With `verify`
        (recording does it), the file is read back first; one that does not load or replay this
        cassette's episodes is refused (`RecordingFormatError`) and kept aside as `<name>.unverified`."""
        written = self.scrubbed(scrub) if scrub is not None else self
        text = written._text(secrets)
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        except OSError as exc:
            raise ReplayError(f"cannot write recording {path}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            problem = self.replay_problem(tmp, path, written) if verify else None
            if problem is not None:
                aside = path.with_name(path.name + UNVERIFIED)
                os.replace(tmp, aside)
                raise RecordingFormatError(f"recording {path} {problem}; the file is kept as {aside}")
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise ReplayError(f"cannot write recording {path}: {exc.strerror or exc}") from None
            raise
        self.path = path

    def replay_problem(self, file: str | os.PathLike[str], path: Path, written: Cassette) -> str | None:
        """Why `file` would not replay this cassette's episodes, or None when it would.

        `written` is this cassette as it was meant to be written (scrubbed). Each episode's key is what
        the client sends again on replay: it must find, among the file's episodes, the one written for
        it, in recorded order, holding the messages written for it.
        """
        try:
            loaded = Cassette.parse(safeio.read_text(file, "recording"), path)
        except (InputError, RecordingFormatError) as exc:
            return f"does not load back ({exc})"
        if len(loaded.episodes) != len(self.episodes):
            return f"loads back with {len(loaded.episodes)} episodes, not {len(self.episodes)}"
        if _bodies(loaded.pool) != _bodies(written.pool):
            return "does not load back the runspace pool's messages as written"
        player = EpisodePlayer(loaded.episodes, str(path))
        pairs = zip(self.episodes, written.episodes, loaded.episodes, strict=True)
        for number, (episode, meant, found) in enumerate(pairs, 1):
            if player.take(episode.key) is not found:
                return (
                    f"does not replay: episode {number}, `{_cut(episode.key.display())}`, would not be found "
                    f"(written as `{_cut(found.key.display())}`)"
                )
            if _bodies(found.messages) != _bodies(meant.messages):
                return f"does not load back the messages of episode {number}, `{_cut(episode.key.display())}`"
        return None


def _bodies(messages: Iterable[RecordedMessage]) -> list[tuple[str, str]]:
    """Messages as a file holds them (SecureStrings replaced)."""
    return [(m.type, redact_secure_strings(m.clixml)) for m in messages]


def _cut(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def yaml_problem(exc: yaml.YAMLError) -> str:
    """What is wrong with a YAML text, in a few words for one error line (PyYAML's own text spans lines):
    `refused: YAML anchors and aliases are not accepted (line N)` or `not valid YAML at line N`."""
    if isinstance(exc, safeio.YamlAliasError):
        return f"refused: {exc}"
    mark = getattr(exc, "problem_mark", None)
    return "not valid YAML" + (f" at line {mark.line + 1}" if mark is not None else "")


def redact_secure_strings(clixml: str) -> str:
    """SecureStrings are encrypted under the recording session's key: never keep them."""
    return _SECURE_STRING.sub(lambda m: f"<S{m.group(1) or ''}>[redacted SecureString]</S>", clixml)


def check_secrets(text: str, secrets: Iterable[str]) -> None:
    for secret in secrets:
        if len(secret) < 4:
            continue  # too short to tell apart from ordinary text; never a real password
        if any(form in text for form in secret_forms(secret)):
            raise RecordingSecretError(
                "refusing to write the recording: a known secret (password or secret parameter) "
                "is still in it after scrubbing"
            )


class ScrubMap:
    """Consistent, case-insensitive replacement of real names (hosts, users, tenant ids) by placeholders.

    A name is replaced where it stands as a whole token, with no letter or digit right before or after
    it: `ci` is scrubbed in `ci`, `CONTOSO\\ci` and `ci@contoso.com`, never in `Principal` or `recorded`.
    The longest name wins where names overlap, and a placeholder is never scrubbed again.
    """

    def __init__(self, pairs: Mapping[str, str] | None = None) -> None:
        self.pairs: dict[str, str] = {}
        for real, placeholder in (pairs or {}).items():
            self.add(real, placeholder)

    def add(self, real: str, placeholder: str) -> None:
        if real and real.lower() != placeholder.lower():
            self.pairs[real] = placeholder

    def apply(self, text: str) -> str:
        """`text` with every real name that stands as a whole token replaced by its placeholder."""
        if not self.pairs or not text:
            return text
        pattern, placeholders = _scrub_pattern(tuple(self.pairs.items()))
        return pattern.sub(lambda m: placeholders.get(m.group(0).lower()) or self._placeholder(m.group(0)), text)

    def message(self, message: RecordedMessage) -> RecordedMessage:
        """The message with its CLIXML values scrubbed: element text, except type names (`<T>`)."""
        if not self.pairs:
            return message

        def text(m: re.Match[str]) -> str:
            tag, attributes, value = m.group(1), m.group(2), m.group(3)
            if tag == "T":
                return m.group(0)
            plain = unescape(value)
            scrubbed = self.apply(plain)
            return m.group(0) if scrubbed == plain else f"<{tag}{attributes}>{escape(scrubbed)}"

        return dataclasses.replace(message, clixml=_TEXT.sub(text, message.clixml))

    def key(self, key: Key) -> Key:
        """The key with its parameter values scrubbed (and marked `scrubbed`); command and script names,
        digests and parameter names are kept."""
        if not self.pairs:
            return key
        return Key(tuple(Statement(s.command, s.script_sha256, tuple(self._param(p) for p in s.params))
                         for s in key.statements))  # fmt: skip

    def _param(self, param: Param) -> Param:
        """A parameter whose value a real name was scrubbed from is marked: it matches any value on replay."""
        value = self.value(param.value)
        return Param(param.name, value, param.secret, param.scrubbed or value != param.value)

    def value(self, value: Any) -> Any:
        """A canonical parameter value with its strings scrubbed (mapping keys are names: kept)."""
        if isinstance(value, str):
            return self.apply(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def _placeholder(self, found: str) -> str:
        """The placeholder for a match whose lower case is not a real name's (Unicode case folding)."""
        return next(p for real, p in self.pairs.items() if re.fullmatch(re.escape(real), found, re.IGNORECASE))


@functools.lru_cache(maxsize=32)
def _scrub_pattern(pairs: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    names = sorted((real for real, _ in pairs), key=lambda r: (-len(r), r))  # the longest first
    alternatives = "|".join(re.escape(name) for name in names)
    pattern = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)
    return pattern, {real.lower(): placeholder for real, placeholder in pairs}


def load_all(path: str | os.PathLike[str], configuration_name: str | None = None) -> list[Cassette]:
    """One recording file, or every `*.yaml` in a directory, optionally for one endpoint only."""
    path = Path(path)
    if path.is_dir():
        # Every entry named *.yaml is read, so one that is not a regular file (a FIFO, a device, a
        # directory) is refused with one line by Cassette.load rather than skipped without a word.
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise RecordingFormatError(f"no recordings (*.yaml) in {path}")
    elif path.exists():
        files = [path]
    else:
        raise RecordingFormatError(f"no recording at {path}")
    cassettes = [Cassette.load(f) for f in files]
    if configuration_name is None:
        return cassettes
    chosen = [c for c in cassettes if c.target.configuration_name.lower() == configuration_name.lower()]
    if not chosen:
        raise RecordingFormatError(f"no recording in {path} is for the endpoint {configuration_name!r}")
    return chosen


def _messages(value: Any, where: str, bad: Any) -> list[RecordedMessage]:
    if not isinstance(value, list):
        raise bad(f"{where} messages are not a list")
    out = []
    for item in value:
        if not isinstance(item, Mapping) or item.get("type") not in MESSAGE_TYPES:
            kind = item.get("type") if isinstance(item, Mapping) else item
            raise bad(f"{where} has a message of unknown type {kind!r}")
        if "clixml" in item:
            clixml = str(item["clixml"]).replace("\n", "")
        elif "clixml_raw" in item:
            clixml = str(item["clixml_raw"])
        else:
            raise bad(f"{where} has a {item['type']} message without clixml")
        try:
            fromstring(clixml)
        except ParseError as exc:
            raise bad(f"{where} has a {item['type']} message whose CLIXML does not parse ({exc})") from None
        out.append(RecordedMessage(str(item["type"]), clixml))
    return out


def _message_data(message: RecordedMessage) -> dict[str, str]:
    clixml = redact_secure_strings(message.clixml)
    if "\n" in clixml:
        return {"type": message.type, "clixml_raw": clixml}
    return {"type": message.type, "clixml": _SPLIT.sub(">\n", clixml)}


class _BlockDumper(_Dumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a value used twice is written twice: recordings never hold anchors (they are refused)


def _str_representer(dumper: Any, data: str) -> Any:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_BlockDumper.add_representer(str, _str_representer)
