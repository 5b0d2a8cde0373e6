"""Microsoft Graph exchanges recorded as HTTP cassettes with vcrpy, and replayed from them.

A cassette is YAML in vcrpy's layout with two more top-level keys, `origin` (recorded | synthetic) and
`description`; loading refuses a file without an origin. Graph cassettes live in `<recordings>/graph/`,
beside the PSRP recordings, and a directory's cassettes are merged for replay.

    origin: recorded | synthetic
    description: free text
    version: 1
    interactions:
      - request: {method, uri, body, headers: {Accept: [...], Content-Type: [...]}}
        response: {status: {code, message}, headers: {...}, body: {string: JSON text}}

Requests match on method, scheme, host, path, query and body (compared as JSON). Nothing is served
twice and nothing falls through to the network: in mode "none" an unrecorded request raises
ReplayMissError naming it and the nearest recorded requests.

Sign-in traffic is never recorded, whatever the authority host (a national cloud such as
login.microsoftonline.us or login.chinacloudapi.cn, or any custom authority): a request is sign-in when
it goes to a configured authority host, when its path is one of the Microsoft identity platform's
endpoints (`/oauth2/token`, `/oauth2/v2.0/token`, `authorize`, `devicecode`, instance discovery, the
OpenID configuration; https://learn.microsoft.com/entra/identity-platform/v2-protocols), or when its form
body carries `client_secret`, `client_assertion` or `grant_type` (an OAuth 2.0 token request, RFC 6749).

Scrubbing happens at record time: request headers are kept only from a short allow-list (so never
Authorization), response headers that carry cookies, tokens or known secrets are dropped, and the
fields access_token, refresh_token, id_token, client_assertion and client_secret of JSON and form
bodies are replaced. Writing then refuses, leaving no file, when a known secret (as text, base64 or
URL-encoded) is still in the cassette. The written file is read back before it takes its place: when a
recorded request would not find its answer in it, the write is refused and the text is kept beside the
destination as `<name>.unverified`. Cassettes are read as regular files of bounded size, and YAML anchors
and aliases are refused. vcr is imported only when a cassette is used.
"""

from __future__ import annotations

import contextlib
import difflib
import http
import json
import os
import re
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import yaml

from psbridge import errors, logs, safeio
from psbridge.graph.auth import DEFAULT_AUTHORITY_HOST, DEFAULT_GRAPH_URL, base_url
from psbridge.graph.client import build_url
from psbridge.replay.cassette import UNVERIFIED, check_secrets

GRAPH_DIR = "graph"
ORIGINS = ("recorded", "synthetic")
RecordMode = Literal["none", "once", "new_episodes", "all"]
SCRUBBED_FIELDS = frozenset({"access_token", "refresh_token", "id_token", "client_assertion", "client_secret"})
REDACTED = "<redacted>"
_KEPT_REQUEST_HEADERS = frozenset({"accept", "content-type", "consistencylevel", "prefer"})
_DROPPED_RESPONSE_HEADERS = frozenset({"set-cookie", "authorization", "www-authenticate"})
_MATCH_ON = ("method", "scheme", "host", "path", "query", "json_body")
# The Microsoft identity platform's endpoints, on any authority host: token, authorize, device code,
# instance discovery and the OpenID configuration (MSAL asks for the last two before signing in).
_SIGN_IN_PATH = re.compile(
    r"/oauth2/(?:v2\.0/)?(?:token|authorize|devicecode)/?$|/discovery/(?:v2\.0/)?instance/?$"
    r"|/\.well-known/openid-configuration/?$",
    re.IGNORECASE,
)
_SIGN_IN_FIELDS = frozenset({"client_secret", "client_assertion", "grant_type"})


def graph_files(path: str | os.PathLike[str]) -> list[Path]:
    """The cassette file itself, or every `graph/*.yaml` of a recordings directory."""
    path = Path(path)
    if path.is_dir():
        return sorted([*(path / GRAPH_DIR).glob("*.yaml"), *(path / GRAPH_DIR).glob("*.yml")])
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


@contextlib.contextmanager
def graph_cassette(
    path: str | os.PathLike[str],
    *,
    mode: RecordMode = "none",
    secrets: Iterable[str] = (),
    description: str = "",
    authority_hosts: Iterable[str] = (DEFAULT_AUTHORITY_HOST,),
) -> Iterator[None]:
    """Serve Graph requests made inside the block from `path`, or record them there.

    `path` is a cassette file, or (replay only) a directory whose `graph/*.yaml` are all served.
    `secrets` is read when the cassette is written, so a live list (a TokenProvider's `secrets`)
    includes the tokens acquired inside the block. `authority_hosts` are the sign-in hosts (MSAL's
    traffic), never recorded nor replayed; sign-in requests to any other host are recognised by what
    they are (see the module docstring).
    """
    import vcr

    path = Path(path)
    if mode not in ("none", "once", "new_episodes", "all"):
        raise errors.InputError(f"unknown record mode {mode!r}")
    if path.is_dir() and mode != "none":
        raise errors.InputError(f"recording Graph traffic needs a cassette file, not the directory {path}")
    if mode == "none" and not graph_files(path):
        where = f"{path}/{GRAPH_DIR}/*.yaml" if path.is_dir() else str(path)
        raise errors.RecordingFormatError(f"no Graph recording at {where}")
    known = secrets if isinstance(secrets, Collection) else list(secrets)
    recorder = vcr.VCR(
        record_mode=mode,
        match_on=_MATCH_ON,
        before_record_request=lambda request: None if _is_sign_in(request) else _scrub_request(request, known),
        before_record_response=lambda response: _scrub_response(response, known),
        ignore_hosts=[urlsplit(base_url(host, "authority host")).hostname for host in authority_hosts],
        decode_compressed_response=True,
    )
    recorder.register_matcher("json_body", _json_body)
    store = _Store(known, description, [recorder.matchers[name] for name in _MATCH_ON])
    recorder.register_serializer("psbridge-graph", store)
    recorder.register_persister(store)
    completed = False
    try:
        with recorder.use_cassette(str(path), serializer="psbridge-graph") as cassette:
            _raise_on_miss(cassette, path)
            yield
        completed = True
    finally:
        # Raised here, not from vcrpy's exit: a persister that raises there leaves vcrpy's patches on.
        if store.refused is not None:
            if completed:
                raise store.refused
            logs.get_logger().warning("psbridge.graph.recording_not_written", path=str(path), reason=str(store.refused))


def author_graph_cassette(source: Mapping[str, Any]) -> str:
    """Synthetic authoring: the cassette text vcrpy replays, from a declarative source

    {origin: synthetic, description, graph_url (default https://graph.microsoft.com),
     interactions: [{request: {method, path, api (v1.0), query: {...}, body},
                     response: {status (200), json, headers: {...}}}]}
    """
    if source.get("origin") != "synthetic":
        raise errors.RecordingFormatError("an authored Graph cassette must say `origin: synthetic`")
    graph_url = base_url(str(source.get("graph_url", DEFAULT_GRAPH_URL)), "graph_url")
    interactions = source.get("interactions")
    if not isinstance(interactions, list) or not interactions:
        raise errors.RecordingFormatError("an authored Graph cassette needs a list of interactions")
    out = []
    for number, item in enumerate(interactions, 1):
        request, response = (item or {}).get("request"), (item or {}).get("response") or {}
        if not isinstance(request, Mapping) or not request.get("method") or not request.get("path"):
            raise errors.RecordingFormatError(f"interaction {number} needs a request with a method and a path")
        method = str(request["method"]).upper()
        uri = build_url(graph_url, str(request.get("api", "v1.0")), str(request["path"]), request.get("query"))
        body = request.get("body")
        request_headers = {"Accept": ["application/json"]}
        if body is not None:
            request_headers["Content-Type"] = ["application/json"]
        status = int(response.get("status", 200))
        headers = {"Content-Type": ["application/json"]} if "json" in response else {}
        headers |= {str(k): [str(v)] for k, v in (response.get("headers") or {}).items()}
        out.append(
            {
                "request": {
                    "method": method,
                    "uri": uri,
                    "body": None if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                    "headers": request_headers,
                },
                "response": {
                    "status": {"code": status, "message": http.HTTPStatus(status).phrase},
                    "headers": headers,
                    "body": {"string": _pretty(response["json"]) if "json" in response else ""},
                },
            }
        )
    return _dump(
        {"origin": "synthetic", "description": str(source.get("description", "")), "version": 1, "interactions": out}
    )


# -- the file format: vcrpy's, plus origin and description ----------------------------------------


class _Store:
    """vcrpy's serializer and persister in one: YAML with readable block bodies and `origin` (checked on
    load, `recorded` on save); one file or a directory's merged `graph/*.yaml`; atomic writes that
    refuse, leaving no file, while a known secret is still in the text, or when the text does not load
    back into requests that match the recorded ones (then kept aside as `<name>.unverified`)."""

    def __init__(self, secrets: Collection[str], description: str, matchers: list[Callable[[Any, Any], Any]]) -> None:
        self.secrets = secrets
        self.description = description
        self.matchers = matchers
        self.refused: errors.PsbridgeError | None = None

    def deserialize(self, text: str) -> dict[str, Any]:
        try:
            data = safeio.load_yaml(text)
        except safeio.YamlAliasError as exc:
            raise errors.RecordingFormatError(str(exc)) from None
        if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
            raise errors.RecordingFormatError("not a Graph cassette (no list of interactions)")
        if data.get("origin") not in ORIGINS:
            raise errors.RecordingFormatError(f"the cassette has no `origin` ({' or '.join(ORIGINS)})")
        self.description = self.description or str(data.get("description") or "")
        return data

    def serialize(self, data: dict[str, Any]) -> str:
        return _dump({"origin": "recorded", "description": self.description, **data})

    def load_cassette(self, cassette_path: str, serializer: Any) -> tuple[list[Any], list[Any]]:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        files = graph_files(cassette_path)
        if not files:
            raise CassetteNotFoundError()
        requests: list[Any] = []
        responses: list[Any] = []
        for file in files:
            try:
                loaded = deserialize(safeio.read_text(file, "Graph recording"), serializer)
            except errors.InputError as exc:
                raise errors.RecordingFormatError(str(exc)) from None
            except errors.RecordingFormatError as exc:
                raise errors.RecordingFormatError(f"{file}: {exc}") from None
            except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
                raise errors.RecordingFormatError(f"{file}: not a readable Graph cassette ({exc})") from None
            requests += loaded[0]
            responses += loaded[1]
        return requests, responses

    def save_cassette(self, cassette_path: str, cassette_dict: dict[str, Any], serializer: Any) -> None:
        """Never raises (vcrpy would then leave its patches on): a refusal is kept in `refused`."""
        from vcr.serialize import serialize

        path = Path(cassette_path)
        try:
            text = serialize(cassette_dict, serializer)
            check_secrets(text, self.secrets)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                problem = self._replay_problem(tmp, cassette_dict["requests"], serializer)
                if problem is not None:
                    aside = path.with_name(path.name + UNVERIFIED)
                    os.replace(tmp, aside)
                    raise errors.RecordingFormatError(f"Graph recording {path} {problem}; the file is kept as {aside}")
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except errors.PsbridgeError as exc:
            self.refused = exc
        except OSError as exc:
            self.refused = errors.ReplayError(f"cannot write the Graph recording {path}: {exc.strerror or exc}")

    def _replay_problem(self, written: str, recorded: list[Any], serializer: Any) -> str | None:
        """Why the file `written` would not answer the `recorded` requests (in order), or None."""
        from vcr.matchers import requests_match
        from vcr.serialize import deserialize

        try:
            loaded, _ = deserialize(safeio.read_text(written, "Graph recording"), serializer)
        except (errors.PsbridgeError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
            return f"does not load back ({exc})"
        if len(loaded) != len(recorded):
            return f"loads back with {len(loaded)} requests, not {len(recorded)}"
        for number, (request, written_request) in enumerate(zip(recorded, loaded, strict=True), 1):
            if not requests_match(request, written_request, self.matchers):
                return f"does not replay: request {number}, `{_shown(request)}`, would not be found"
        return None


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a value used twice is written twice: anchors are refused on load


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _str)


def _dump(data: Mapping[str, Any]) -> str:
    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# -- scrubbing and matching ------------------------------------------------------------------------


def _is_sign_in(request: Any) -> bool:
    """Whether a request is sign-in traffic, whatever its host: see the module docstring."""
    if _SIGN_IN_PATH.search(urlsplit(request.uri).path):
        return True
    body = request.body
    if not body:
        return False
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    if text.lstrip().startswith(("{", "[")):
        return False  # a JSON body is an API call; token-bearing fields in it are scrubbed instead
    return any(name.lower() in _SIGN_IN_FIELDS for name, _ in parse_qsl(text, keep_blank_values=True))


def _scrub_request(request: Any, secrets: Collection[str]) -> Any:
    request.headers = {k: v for k, v in request.headers.items() if k.lower() in _KEPT_REQUEST_HEADERS}
    request.body = _scrub_body(request.body)
    return request


def _scrub_response(response: dict[str, Any], secrets: Collection[str]) -> dict[str, Any]:
    def risky(name: str, values: Any) -> bool:
        text = " ".join(values) if isinstance(values, list) else str(values)
        return (
            name.lower() in _DROPPED_RESPONSE_HEADERS
            or "bearer" in text.lower()
            or any(len(s) >= 4 and s in text for s in secrets)
        )

    response["headers"] = {k: v for k, v in response.get("headers", {}).items() if not risky(k, v)}
    body = response.get("body") or {}
    if body.get("string"):
        scrubbed = _scrub_body(body["string"])
        with contextlib.suppress(TypeError, ValueError):  # pretty JSON: a diff then shows which field changed
            scrubbed = _pretty(json.loads(scrubbed)).encode()
        body["string"] = scrubbed
        for name in response["headers"]:
            if name.lower() == "content-length":
                response["headers"][name] = [str(len(scrubbed))]
    return response


def _scrub_body(body: Any) -> Any:
    """A JSON or form body with the token-bearing fields replaced; anything else unchanged."""
    if not body:
        return body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        data = json.loads(text)
    except ValueError:
        pairs = parse_qsl(text, keep_blank_values=True)
        if "=" not in text or not pairs or not any(k.lower() in SCRUBBED_FIELDS for k, _ in pairs):
            return body
        return urlencode([(k, REDACTED if k.lower() in SCRUBBED_FIELDS else v) for k, v in pairs]).encode()
    scrubbed = _scrub_json(data)
    return body if scrubbed == data else json.dumps(scrubbed, separators=(",", ":")).encode()


def _scrub_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k.lower() in SCRUBBED_FIELDS else _scrub_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def _normalised_body(body: Any) -> Any:
    if not body:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: bodies equal as JSON (key order and spacing do not count), else as text."""
    if _normalised_body(r1.body) != _normalised_body(r2.body):
        raise AssertionError("the bodies differ")


# -- a miss, named ---------------------------------------------------------------------------------


def _shown(request: Any) -> str:
    text = f"{request.method} {request.path}"
    if request.query:
        text += "?" + urlencode(request.query, quote_via=quote, safe="$'(),:")
    body = _normalised_body(request.body)
    if body is not None:
        compact = json.dumps(body, separators=(",", ":")) if not isinstance(body, str) else body
        text += " " + (compact if len(compact) <= 100 else compact[:97] + "...")
    return text


def _key(request: Any) -> tuple[Any, ...]:
    return request.method, request.scheme, request.host, request.path, request.query, _normalised_body(request.body)


def _raise_on_miss(cassette: Any, path: Path) -> None:
    """Where vcrpy would raise its own exception for an unrecorded request (at the request, so callers
    can catch it there), raise ReplayMissError or ReplayExhaustedError instead."""
    playable = cassette.can_play_response_for

    def can_play_response_for(request: Any) -> bool:
        if playable(request):
            return True
        if cassette.write_protected and cassette.filter_request(request):
            raise _miss(cassette, request, path)
        return False

    cassette.can_play_response_for = can_play_response_for


def _miss(cassette: Any, failed: Any, path: Path) -> errors.ReplayError:
    recorded = list(cassette.requests)
    shown = _shown(failed)
    if any(_key(r) == _key(failed) for r in recorded):
        return errors.ReplayExhaustedError(f"every recorded Graph response for `{shown}` in {path} was already played")

    def distance(r: Any) -> tuple[int, float]:
        same = sum(a == b for a, b in zip(_key(r), _key(failed), strict=True))
        return -same, -difflib.SequenceMatcher(None, _shown(r), shown).ratio()

    nearest = list(dict.fromkeys(_shown(r) for r in sorted(recorded, key=distance)))[:3]
    text = f"no recorded Graph response for `{shown}` in {path}"
    if nearest:
        text += "; nearest recorded: " + " | ".join(f"`{n}`" for n in nearest)
    return errors.ReplayMissError(text)
