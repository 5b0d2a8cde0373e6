"""Microsoft Graph record and replay as a requests transport adapter: HTTP cassettes, no process-wide patching.

`GraphCassette` is a `requests.adapters.BaseAdapter`. A GraphClient mounts it on its own requests.Session
(`GraphClient.replay`, `GraphClient.record`), so only that client's requests pass through it; every other
session in the process (MSAL's sign-in among them) keeps its own adapters and the network. The record modes
are PSRP's (`psbridge.replay.modes`): none, once, new_episodes, rewrite.

A cassette is YAML with two top-level keys besides its interactions, `origin` (recorded | synthetic) and
`description`; loading refuses a file without an origin. Graph cassettes live in `<recordings>/graph/`,
beside the PSRP recordings, and a directory's cassettes are merged for replay. The same cassette serves
Exchange Online's REST client (psbridge.exchange.rest), whose cassettes live in `<recordings>/exo-rest/`
(`subdir`).

    origin: recorded | synthetic
    description: free text
    version: 1
    interactions:
      - request: {method, uri, body, headers: {Accept: [...], Content-Type: [...]}}
        response: {status: {code, message}, headers: {...}, body: {string: JSON text}}

Requests match on method, scheme, host, path, query and body (compared as JSON). Nothing is served twice
and nothing falls through to the network: replaying (mode none, or once over an existing file), a request
that is not recorded raises ReplayMissError naming it and the nearest recorded requests, and one whose
recorded answers were all served raises ReplayExhaustedError.

Sign-in traffic is never recorded nor replayed, whatever the authority host (a national cloud such as
login.microsoftonline.us or login.chinacloudapi.cn, or any custom authority): a request is sign-in when
it goes to a configured authority host, when its path is one of the Microsoft identity platform's
endpoints (`/oauth2/token`, `/oauth2/v2.0/token`, `authorize`, `devicecode`, instance discovery, the
OpenID configuration; https://learn.microsoft.com/entra/identity-platform/v2-protocols), or when its form
body carries `client_secret`, `client_assertion` or `grant_type` (an OAuth 2.0 token request, RFC 6749).
In the record modes it goes to the network unrecorded; in mode none it is refused.

Scrubbing happens at record time: request headers are kept only from a short allow-list (so never
Authorization), response headers that carry cookies, tokens or any form of a known secret
(`psbridge.redaction`) are dropped, and the fields access_token, refresh_token, id_token, client_assertion
and client_secret of JSON and form bodies are replaced (on the requests being matched too, so a scrubbed
request still finds its answer). The cassette is written when the adapter closes, if anything new was
recorded. Writing refuses, leaving no file, when a known secret (as text, base64 or URL-encoded) is still
in the text. The written file is read back before it takes its place: when a recorded request would not
find its answer in it, the write is refused and the text is kept beside the destination as
`<name>.unverified`. Cassettes are read as regular files of bounded size, and YAML anchors and aliases are
refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import http
import io
import json
import os
import re
import tempfile
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import requests
import yaml
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict

from psbridge import errors, safeio
from psbridge.graph.auth import DEFAULT_AUTHORITY_HOST, DEFAULT_GRAPH_URL, base_url
from psbridge.graph.client import build_url
from psbridge.redaction import redact
from psbridge.replay import modes
from psbridge.replay.cassette import UNVERIFIED, check_secrets, yaml_problem

GRAPH_DIR = "graph"
ORIGINS = ("recorded", "synthetic")
FORMAT_VERSION = 1
SCRUBBED_FIELDS = frozenset({"access_token", "refresh_token", "id_token", "client_assertion", "client_secret"})
REDACTED = "<redacted>"
_KEPT_REQUEST_HEADERS = frozenset({"accept", "content-type", "consistencylevel", "prefer", "x-cmdletname"})
_DROPPED_RESPONSE_HEADERS = frozenset({"set-cookie", "authorization", "www-authenticate"})
_DECODED = frozenset({"content-encoding", "transfer-encoding"})  # the body is kept decoded
# The Microsoft identity platform's endpoints, on any authority host: token, authorize, device code,
# instance discovery and the OpenID configuration (MSAL asks for the last two before signing in).
_SIGN_IN_PATH = re.compile(
    r"/oauth2/(?:v2\.0/)?(?:token|authorize|devicecode)/?$|/discovery/(?:v2\.0/)?instance/?$"
    r"|/\.well-known/openid-configuration/?$",
    re.IGNORECASE,
)
_SIGN_IN_FIELDS = frozenset({"client_secret", "client_assertion", "grant_type"})
Headers = dict[str, list[str]]


def graph_files(path: str | os.PathLike[str], subdir: str = GRAPH_DIR) -> list[Path]:
    """The cassette file itself, or every `<subdir>/*.yaml` (`graph/` by default) of a recordings directory."""
    path = Path(path)
    if path.is_dir():
        return sorted([*(path / subdir).glob("*.yaml"), *(path / subdir).glob("*.yml")])
    return [path] if path.is_file() else []


def has_graph_recordings(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a Graph cassette, or a recordings directory with a `graph/` of cassettes."""
    path = Path(path)
    if path.is_dir():
        return bool(graph_files(path))
    try:
        data = safeio.load_yaml(safeio.read_text(path, "recording")) if path.is_file() else None
    except (errors.InputError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "interactions" in data


# -- one exchange ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GraphRequest:
    """A request as recorded: scrubbed body, allow-listed headers."""

    method: str
    uri: str
    body: str | None = None
    headers: Headers = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, request: requests.PreparedRequest) -> GraphRequest:
        kept = {k: [v] for k, v in request.headers.items() if k.lower() in _KEPT_REQUEST_HEADERS}
        return cls(str(request.method or "GET").upper(), str(request.url or ""), _scrub_body(_text(request.body)), kept)

    def key(self) -> tuple[Any, ...]:
        parts = urlsplit(self.uri)
        query = sorted(parse_qsl(parts.query, keep_blank_values=True))
        return self.method, parts.scheme, parts.hostname, parts.path, query, _normalised(self.body)

    def shown(self) -> str:
        parts = urlsplit(self.uri)
        text = f"{self.method} {parts.path}"
        query = sorted(parse_qsl(parts.query, keep_blank_values=True))
        if query:
            text += "?" + urlencode(query, quote_via=quote, safe="$'(),:")
        body = _normalised(self.body)
        if body is not None:
            compact = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
            text += " " + (compact if len(compact) <= 100 else compact[:97] + "...")
        return text


@dataclasses.dataclass(frozen=True)
class Interaction:
    request: GraphRequest
    status: int
    reason: str = ""
    headers: Headers = dataclasses.field(default_factory=dict)
    text: str = ""

    def to_data(self) -> dict[str, Any]:
        r = self.request
        return {
            "request": {"method": r.method, "uri": r.uri, "body": r.body, "headers": r.headers},
            "response": {
                "status": {"code": self.status, "message": self.reason},
                "headers": self.headers,
                "body": {"string": self.text},
            },
        }

    @classmethod
    def from_data(cls, item: Any) -> Interaction:
        """Raises KeyError, TypeError, ValueError or AttributeError for what is not an interaction."""
        request, response = item["request"], item["response"]
        body, status = request.get("body"), response["status"]
        return cls(
            GraphRequest(str(request["method"]).upper(), str(request["uri"]), None if body is None else str(body),
                         _headers(request.get("headers"))),
            status=int(status["code"]),
            reason=str(status.get("message") or ""),
            headers=_headers(response.get("headers")),
            text=str((response.get("body") or {}).get("string") or ""),
        )  # fmt: skip

    def response(self, request: requests.PreparedRequest) -> requests.Response:
        """This answer as requests' own Response, as HTTPAdapter would build it."""
        response = requests.Response()
        response.status_code = self.status
        response.reason = self.reason
        response.headers = CaseInsensitiveDict({k: ", ".join(v) for k, v in self.headers.items()})
        response.raw = io.BytesIO(self.text.encode("utf-8"))
        response.encoding = "utf-8"
        response.url = str(request.url or "")
        response.request = request
        return response


def _headers(value: Any) -> Headers:
    if not value:
        return {}
    return {str(k): [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in dict(value).items()}


# -- the adapter -------------------------------------------------------------------------------------


class GraphCassette(BaseAdapter):
    """A requests transport adapter that serves Graph requests from `path` and, in the record modes, records
    what it sends live (through `live`, requests' HTTPAdapter unless given) into it when closed.

    `path` is a cassette file, or (mode none only) a recordings directory whose `<subdir>/*.yaml` are merged
    (`graph/` by default; Exchange Online's REST client uses `exo-rest/`).
    `secrets` is read when the cassette is written, so a live list (a TokenProvider's `secrets`) includes
    the tokens acquired meanwhile. `authority_hosts` are sign-in hosts besides login.microsoftonline.com;
    sign-in to any other host is recognised by what it is (see the module docstring).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: str = "none",
        secrets: Iterable[str] = (),
        description: str = "",
        authority_hosts: Iterable[str] = (),
        live: BaseAdapter | None = None,
        subdir: str = GRAPH_DIR,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.subdir = subdir
        self.what = "Graph" if subdir == GRAPH_DIR else "Exchange Online REST"  # in messages
        self.mode = modes.checked(mode)
        if self.path.is_dir() and self.mode != "none":
            raise errors.InputError(f"recording Graph traffic needs a cassette file, not the directory {self.path}")
        exists = bool(graph_files(self.path, subdir))
        if self.mode == "none" and not exists:
            where = f"{self.path}/{subdir}/*.yaml" if self.path.is_dir() else str(self.path)
            raise errors.RecordingFormatError(f"no {self.what} recording at {where}")
        self.secrets = secrets if isinstance(secrets, Collection) else list(secrets)
        self.sign_in_hosts = frozenset(
            urlsplit(base_url(host, "authority host")).hostname for host in (DEFAULT_AUTHORITY_HOST, *authority_hosts)
        )
        recorded, found = load(self.path, subdir) if exists and self.mode != "rewrite" else ([], "")
        self.recorded: list[Interaction] = recorded
        self.description = description or found
        self.new: list[Interaction] = []
        self._played: set[int] = set()
        self._replay_only = self.mode == "none" or (self.mode == "once" and exists)
        self._live = None if self.mode == "none" else (live or HTTPAdapter())
        self._closed = False

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if self._closed:
            raise errors.ReplayError(f"the {self.what} recording {self.path} is closed")
        live = {"stream": False, "timeout": timeout, "verify": verify, "cert": cert, "proxies": proxies}
        if _is_sign_in(request, self.sign_in_hosts):
            if self._live is None:
                where = urlsplit(str(request.url or "")).hostname
                raise errors.ReplayMissError(
                    f"sign-in at {where} is never recorded nor replayed: a replayed Graph client needs no token"
                )
            return self._live.send(request, **live)
        wanted = GraphRequest.of(request)
        for number, interaction in enumerate(self.recorded):
            if number not in self._played and interaction.request.key() == wanted.key():
                self._played.add(number)
                return interaction.response(request)
        if self._replay_only or self._live is None:
            raise self._miss(wanted)
        response = self._live.send(request, **live)
        self.new.append(_recorded(wanted, response, self.secrets))
        return response

    def close(self) -> None:
        """Ends the live side and writes the cassette if anything new was recorded; a second close does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._live is not None:
                self._live.close()
        finally:
            if self.new:
                kept = self.recorded if self.mode == "new_episodes" else []
                write(self.path, [*kept, *self.new], description=self.description, secrets=self.secrets)

    def _miss(self, wanted: GraphRequest) -> errors.ReplayError:
        shown = wanted.shown()
        if any(r.request.key() == wanted.key() for r in self.recorded):
            return errors.ReplayExhaustedError(
                f"every recorded {self.what} response for `{shown}` in {self.path} was already played"
            )

        def distance(r: GraphRequest) -> tuple[int, float]:
            same = sum(a == b for a, b in zip(r.key(), wanted.key(), strict=True))
            return -same, -difflib.SequenceMatcher(None, r.shown(), shown).ratio()

        requests_ = sorted((r.request for r in self.recorded), key=distance)
        nearest = list(dict.fromkeys(r.shown() for r in requests_))[:3]
        text = f"no recorded {self.what} response for `{shown}` in {self.path}"
        if nearest:
            text += "; nearest recorded: " + " | ".join(f"`{n}`" for n in nearest)
        return errors.ReplayMissError(text)


def _recorded(wanted: GraphRequest, response: requests.Response, secrets: Collection[str]) -> Interaction:
    """What is written of a live exchange: headers that carry no cookie, token or secret; scrubbed bodies."""

    def risky(name: str, value: str) -> bool:
        return (
            name.lower() in _DROPPED_RESPONSE_HEADERS | _DECODED
            or "bearer" in value.lower()
            or redact(value, secrets) != value
        )

    text = _scrub_body(response.content.decode("utf-8", "replace")) or ""
    with contextlib.suppress(ValueError):
        text = _pretty(json.loads(text))  # pretty JSON: a diff then shows which field changed
    headers = {k: [v] for k, v in response.headers.items() if not risky(k, v)}
    for name in headers:
        if name.lower() == "content-length":
            headers[name] = [str(len(text.encode("utf-8")))]
    reason = response.reason or _phrase(response.status_code)
    return Interaction(wanted, status=response.status_code, reason=reason, headers=headers, text=text)


# -- the file: read, write, author -------------------------------------------------------------------


def load(path: str | os.PathLike[str], subdir: str = GRAPH_DIR) -> tuple[list[Interaction], str]:
    """The interactions of a cassette file, or of a directory's `<subdir>/*.yaml` in order, and a description."""
    interactions: list[Interaction] = []
    description = ""
    for file in graph_files(path, subdir):
        found, text = parse(_read(file), file)
        interactions += found
        description = description or text
    return interactions, description


def parse(text: str, where: str | os.PathLike[str]) -> tuple[list[Interaction], str]:
    """One cassette's interactions and description; RecordingFormatError (naming `where`) if it is not one."""
    try:
        data = safeio.load_yaml(text)
    except yaml.YAMLError as exc:
        raise errors.RecordingFormatError(f"{where}: {yaml_problem(exc)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise errors.RecordingFormatError(f"{where}: not a Graph cassette (no list of interactions)")
    if data.get("origin") not in ORIGINS:
        raise errors.RecordingFormatError(f"{where}: the cassette has no `origin` ({' or '.join(ORIGINS)})")
    interactions = []
    for number, item in enumerate(data["interactions"], 1):
        try:
            interactions.append(Interaction.from_data(item))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise errors.RecordingFormatError(f"{where}: interaction {number} is not readable ({exc!r})") from None
    return interactions, str(data.get("description") or "")


def _read(file: str | os.PathLike[str]) -> str:
    try:
        return safeio.read_text(file, "Graph recording")
    except errors.InputError as exc:
        raise errors.RecordingFormatError(str(exc)) from None


def write(
    path: str | os.PathLike[str], interactions: list[Interaction], *, description: str, secrets: Iterable[str]
) -> None:
    """Write a recorded cassette atomically; refused (no file left) while a known secret is in the text, or
    (the text kept as `<name>.unverified`) when it does not load back into the same requests and answers."""
    path = Path(path)
    text = dump(
        {
            "origin": "recorded",
            "description": description,
            "version": FORMAT_VERSION,
            "interactions": [i.to_data() for i in interactions],
        }
    )
    check_secrets(text, secrets)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            problem = _replay_problem(tmp, interactions)
            if problem is not None:
                aside = path.with_name(path.name + UNVERIFIED)
                os.replace(tmp, aside)
                raise errors.RecordingFormatError(f"Graph recording {path} {problem}; the file is kept as {aside}")
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        raise errors.ReplayError(f"cannot write the Graph recording {path}: {exc.strerror or exc}") from None


def _replay_problem(written: str, interactions: list[Interaction]) -> str | None:
    """Why the file `written` would not answer the recorded requests (in order) as they were answered."""
    try:
        loaded, _ = parse(_read(written), written)
    except errors.RecordingFormatError as exc:
        return f"does not load back ({exc})"
    if len(loaded) != len(interactions):
        return f"loads back with {len(loaded)} requests, not {len(interactions)}"
    for number, (recorded, back) in enumerate(zip(interactions, loaded, strict=True), 1):
        if back.request.key() != recorded.request.key():
            return f"does not replay: request {number}, `{recorded.request.shown()}`, would not be found"
        if (back.status, back.text) != (recorded.status, recorded.text):
            return f"does not replay: request {number}, `{recorded.request.shown()}`, would get another answer"
    return None


def author_graph_cassette(source: Mapping[str, Any]) -> str:
    """Synthetic authoring: the cassette text, from a declarative source

    {origin: synthetic, description, graph_url (default https://graph.microsoft.com),
     interactions: [{request: {method, path, api (v1.0), query: {...}, body},
                     response: {status (200), json, headers: {...}}}]}
    """
    if source.get("origin") != "synthetic":
        raise errors.RecordingFormatError("an authored Graph cassette must say `origin: synthetic`")
    graph_url = base_url(str(source.get("graph_url", DEFAULT_GRAPH_URL)), "graph_url")
    items = source.get("interactions")
    if not isinstance(items, list) or not items:
        raise errors.RecordingFormatError("an authored Graph cassette needs a list of interactions")
    out = []
    for number, item in enumerate(items, 1):
        request, response = (item or {}).get("request"), (item or {}).get("response") or {}
        if not isinstance(request, Mapping) or not request.get("method") or not request.get("path"):
            raise errors.RecordingFormatError(f"interaction {number} needs a request with a method and a path")
        uri = build_url(graph_url, str(request.get("api", "v1.0")), str(request["path"]), request.get("query"))
        body = request.get("body")
        headers = {"Accept": ["application/json"]}
        if body is not None:
            headers["Content-Type"] = ["application/json"]
        status = int(response.get("status", 200))
        answer_headers = {"Content-Type": ["application/json"]} if "json" in response else {}
        answer_headers |= {str(k): [str(v)] for k, v in (response.get("headers") or {}).items()}
        compact = None if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        out.append(
            Interaction(
                GraphRequest(str(request["method"]).upper(), uri, compact, headers),
                status=status,
                reason=_phrase(status),
                headers=answer_headers,
                text=_pretty(response["json"]) if "json" in response else "",
            ).to_data()
        )
    description = str(source.get("description", ""))
    return dump({"origin": "synthetic", "description": description, "version": FORMAT_VERSION, "interactions": out})


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a value used twice is written twice: anchors are refused on load


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _str)


def dump(data: Mapping[str, Any]) -> str:
    """YAML with multi-line strings (bodies) as readable block text, keys in the order given."""
    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


# -- sign-in and scrubbing ---------------------------------------------------------------------------


def _text(body: Any) -> str | None:
    if body is None or body in (b"", ""):
        return None
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)


def _is_sign_in(request: requests.PreparedRequest, hosts: Collection[str | None]) -> bool:
    """Whether a request is sign-in traffic, whatever its host: see the module docstring."""
    parts = urlsplit(str(request.url or ""))
    if parts.hostname in hosts or _SIGN_IN_PATH.search(parts.path):
        return True
    text = _text(request.body)
    if not text or text.lstrip().startswith(("{", "[")):
        return False  # a JSON body is an API call; token-bearing fields in it are scrubbed instead
    return any(name.lower() in _SIGN_IN_FIELDS for name, _ in parse_qsl(text, keep_blank_values=True))


def _scrub_body(text: str | None) -> str | None:
    """A JSON or form body with the token-bearing fields replaced; anything else unchanged."""
    if not text:
        return text
    try:
        data = json.loads(text)
    except ValueError:
        pairs = parse_qsl(text, keep_blank_values=True)
        if "=" not in text or not pairs or not any(k.lower() in SCRUBBED_FIELDS for k, _ in pairs):
            return text
        return urlencode([(k, REDACTED if k.lower() in SCRUBBED_FIELDS else v) for k, v in pairs])
    scrubbed = _scrub_json(data)
    return text if scrubbed == data else json.dumps(scrubbed, separators=(",", ":"), ensure_ascii=False)


def _scrub_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k.lower() in SCRUBBED_FIELDS else _scrub_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def _normalised(body: str | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body
