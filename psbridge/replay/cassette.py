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
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from defusedxml.ElementTree import ParseError, fromstring

from psbridge.errors import RecordingFormatError, RecordingSecretError, ReplayError
from psbridge.logs import secret_forms
from psbridge.replay.episodes import Episode, RecordedMessage
from psbridge.replay.keys import Key

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

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RecordingFormatError(f"cannot read recording {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise RecordingFormatError(f"recording {path} is not UTF-8 text (byte {exc.start})") from None
        try:
            data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader (C or pure Python)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise RecordingFormatError(f"recording {path} is not valid YAML{where}") from None
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

    def dumps(self, scrub: ScrubMap | None = None, secrets: Iterable[str] = ()) -> str:
        """The file's text, scrubbed; refuses when a known secret would be written."""
        text = yaml.dump(self.to_data(), Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=4096)
        if scrub is not None:
            text = scrub.apply(text)
        check_secrets(text, secrets)
        return text

    def save(self, path: str | os.PathLike[str], scrub: ScrubMap | None = None, secrets: Iterable[str] = ()) -> None:
        """Write atomically: a refused or failed write leaves any earlier file untouched."""
        text = self.dumps(scrub, secrets)
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        except OSError as exc:
            raise ReplayError(f"cannot write recording {path}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise ReplayError(f"cannot write recording {path}: {exc.strerror or exc}") from None
            raise
        self.path = path


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
    """Consistent, case-insensitive replacement of real names (hosts, users, tenant ids) by placeholders."""

    def __init__(self, pairs: Mapping[str, str] | None = None) -> None:
        self.pairs: dict[str, str] = {}
        for real, placeholder in (pairs or {}).items():
            self.add(real, placeholder)

    def add(self, real: str, placeholder: str) -> None:
        if real and real.lower() != placeholder.lower():
            self.pairs[real] = placeholder

    def apply(self, text: str) -> str:
        for real in sorted(self.pairs, key=len, reverse=True):
            text = re.sub(re.escape(real), self.pairs[real], text, flags=re.IGNORECASE)
        return text


def load_all(path: str | os.PathLike[str], configuration_name: str | None = None) -> list[Cassette]:
    """One recording file, or every `*.yaml` in a directory, optionally for one endpoint only."""
    path = Path(path)
    if path.is_dir():
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
    pass


def _str_representer(dumper: Any, data: str) -> Any:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_BlockDumper.add_representer(str, _str_representer)
