"""`ExoRestTenant`: the simulated Exchange Online InvokeCommand endpoint, as a requests transport adapter.

Mount it on a `requests.Session` for `https://outlook.office365.com` (or the `base` given). It answers
`POST {base}/adminapi/beta/{tenant_id}/InvokeCommand` and `.../$batch` as public clients show the wire
(issue 19; third-party: KelvinTegelaar/CIPP-API `New-ExoRequest.ps1`, `New-ExoBulkRequest.ps1`;
GreyCorbel/ExoHelper `Invoke-ExoCommand.ps1`; michev.info's two articles on the Exchange Online admin API;
Microsoft documents none of it):

- request: `Authorization: Bearer`, `X-AnchorMailbox`, `X-CmdletName` equal to the body's CmdletName,
  JSON body `{"CmdletInput": {"CmdletName", "Parameters"}}`, `$select` in the query, `Prefer:
  odata.maxpagesize=N` (at most 1000; more is served as 1000). Anything else is refused with 400 (401 for
  the token), stricter than the service (CIPP sends no X-CmdletName), so a client that drifts from the wire
  fails here;
- answer: `{"@odata.context", "value": [rows], "@odata.nextLink" (a `$skiptoken` URL the same body is
  POSTed to again), "@adminapi.warnings"}`; errors as `errors.py` describes;
- `$batch`: at most 10 requests, served in order, answered by id in reverse order (deliberately not the
  request order); with `Prefer: odata.continue-on-error` every request is served, else serving stops at
  the first failure and the rest get no answer (OData JSON batch).

Writes go through the write budget when one is given (`budget.py`), faults through `faults.py`; the
counters are in `Counters`. Sleeping (service time) uses the injected `sleep`.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import http
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from simulated import WriteBudget

from simulated_exo_rest import errors
from simulated_exo_rest.budget import Admission, RestBudget
from simulated_exo_rest.cmdlets import HASHTABLE, WRITES, Directory, Outcome
from simulated_exo_rest.errors import RestError
from simulated_exo_rest.faults import Fault
from simulated_exo_rest.state import AcceptedDomain, Mailbox, OrganizationConfig, User, render

BASE = "https://outlook.office365.com"
SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
MAX_PAGE = 1000
MAX_BATCH = 10
Answer = tuple[int, Any, dict[str, str]]  # status, JSON body (or text), extra headers


@dataclasses.dataclass
class Counters:
    """What the tenant served. `invocations`: cmdlets run (a `$batch` item is one; a further page is not);
    `writes`: Set-* calls that succeeded, by cmdlet; `modified`: those that changed state; `faults` by kind."""

    requests: int = 0
    invocations: int = 0
    pages: int = 0
    batches: int = 0
    rejected: int = 0  # requests refused by validation
    writes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    modified: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    faults: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)


@dataclasses.dataclass
class _Listing:
    """A paged answer, kept for its `$skiptoken`s: the body it answers, its rows (objects, rendered page by page)."""

    root: str
    body: Any
    query: list[tuple[str, str]]
    rows: list[Any]
    select: list[str] | None
    warnings: list[str]
    page_size: int


class _Lost(Exception):
    """The answer is dropped after the tenant acted."""


class ExoRestTenant(BaseAdapter):
    """The tenant. Plain data: `mailboxes`, `users` (mail users, or a mailbox's user given explicitly),
    `organization`, `domains` (default: `<name>.onmicrosoft.com` and `<name>.mail.onmicrosoft.com`).
    `token`: when set, the only bearer token accepted. `budget`: a `WriteBudget` (None: writes are free).
    `faults`: `Fault`s. `clock`/`sleep`: monotonic seconds and the sleep the service time passes in;
    `latency_s`: slept once per HTTP request (the round trip the benchmark adds); `reset_as_date`: write
    Rate-Limit-Reset as an HTTP date instead of seconds.
    `log` keeps every call: cmdlet, parameters, status.
    """

    def __init__(
        self,
        mailboxes: Iterable[Mailbox] = (),
        *,
        users: Iterable[User] = (),
        organization: OrganizationConfig | None = None,
        domains: Iterable[AcceptedDomain] | None = None,
        name: str = "contoso",
        tenant_id: str = "2f1c4e5a-7b8d-4c9e-a0f1-b2c3d4e5f6a7",
        base: str = BASE,
        token: str | None = None,
        budget: WriteBudget | None = None,
        faults: Iterable[Fault] = (),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        reset_as_date: bool = False,
        latency_s: float = 0.0,
    ) -> None:
        super().__init__()
        initial = f"{name}.onmicrosoft.com"
        self.directory = Directory(
            list(mailboxes), list(users), organization or OrganizationConfig(initial),
            list(domains) if domains is not None else [
                AcceptedDomain(initial, default=True, initial_domain=True),
                AcceptedDomain(f"{name}.mail.onmicrosoft.com", is_coexistence_domain=None),
            ],
        )  # fmt: skip
        self.tenant_id, self.base, self.token = tenant_id, base.rstrip("/"), token
        self.tenant_names = {tenant_id.casefold(), initial.casefold()}
        self.budget = RestBudget(budget, clock=clock, reset_as_date=reset_as_date) if budget else None
        self.faults = list(faults)
        self.sleep, self.latency_s = sleep, latency_s
        self.read_cost_s = budget.read_cost_s if budget else 0.0
        self.counters = Counters()
        self.log: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._listings: dict[str, tuple[_Listing, int]] = {}  # by $skiptoken: the listing and the next offset
        self._pages = itertools.count(1)  # $skiptokens are opaque: numbered, so a generated cassette is reproducible

    @property
    def root(self) -> str:
        return f"{self.base}/adminapi/beta/{self.tenant_id}"

    # -- the adapter ------------------------------------------------------------------------------------------

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        timeout = kwargs.get("timeout")
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        with self._lock:
            self.counters.requests += 1
        if self.latency_s:
            self.sleep(self.latency_s)
        try:
            status, body, headers = self._serve(request, read_timeout)
        except RestError as refused:
            status, body, headers = refused.status, refused.body, refused.headers
        except _Lost:
            raise requests.ConnectionError(
                "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))",
                request=request,
            ) from None
        response = requests.Response()
        response.status_code, response.url, response.request = status, str(request.url), request
        text = isinstance(body, str)
        content_type = "text/plain; charset=utf-8" if text else "application/json; odata.metadata=minimal"
        response.headers = CaseInsensitiveDict({"Content-Type": content_type, **headers})
        response._content = (body if text else json.dumps(body)).encode()
        # Consumed already, so that iter_content (stream=True) and close() work without a raw stream.
        response._content_consumed = True  # type: ignore[attr-defined]
        response.encoding, response.reason = "utf-8", http.HTTPStatus(status).phrase
        return response

    def close(self) -> None:
        pass

    def _serve(self, request: requests.PreparedRequest, timeout: float | None) -> Answer:
        url = urlsplit(str(request.url))
        headers = CaseInsensitiveDict(dict(request.headers))
        try:
            root, action = self._route(url.scheme, url.netloc, unquote(url.path))
            if request.method != "POST":
                raise errors.invalid_request(f"{action} takes POST, not {request.method}")
            self._check_token(headers)
            body = _json_body(request.body, headers)
        except RestError:
            with self._lock:
                self.counters.rejected += 1
            raise
        if action == "$batch":
            return self._batch(root, headers, body, timeout)
        lost: list[Fault] = []
        try:
            answer = self._invoke(root, parse_qsl(url.query), headers, body, timeout, lost)
        except RestError:
            if lost:  # acted on (and refused): the refusal is lost too
                raise _Lost() from None
            raise
        if lost:
            raise _Lost()
        return answer

    def _route(self, scheme: str, netloc: str, path: str) -> tuple[str, str]:
        """The root as the request names the tenant (its id or its initial domain, as public clients do) and
        the action (InvokeCommand or $batch); 404 for anything else."""
        parts = path.strip("/").split("/")
        if (
            f"{scheme}://{netloc}" != self.base or len(parts) != 4 or parts[:2] != ["adminapi", "beta"]
            or parts[2].casefold() not in self.tenant_names or parts[3] not in ("InvokeCommand", "$batch")
        ):  # fmt: skip
            raise errors.plain(404, "NotFound", f"No resource at {path}")  # SYNTHETIC text
        return f"{self.base}/adminapi/beta/{parts[2]}", parts[3]

    def _check_token(self, headers: Mapping[str, str]) -> None:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme.casefold() != "bearer" or not token.strip():
            raise errors.unauthorized("The request has no bearer token (Authorization: Bearer <token>).")
        if self.token is not None and token.strip() != self.token:
            raise errors.unauthorized("The bearer token was refused.")

    def _check_call(self, headers: Mapping[str, str], body: Any) -> tuple[str, dict[str, Any]]:
        """The cmdlet and parameters of a well-formed call, or the 400 refusing it."""
        anchor = headers.get("X-AnchorMailbox", "").strip()
        if not anchor:
            raise errors.invalid_request("X-AnchorMailbox is required")
        system = anchor.partition("@")
        if anchor.upper().startswith("APP:") and (
            system[0].casefold() != f"APP:{SYSTEM_MAILBOX}".casefold() or system[2].casefold() not in self.tenant_names
        ):
            raise errors.invalid_request(f"X-AnchorMailbox {anchor!r} is not this tenant's system mailbox")
        cmdlet_input = body.get("CmdletInput") if isinstance(body, dict) else None
        if not isinstance(cmdlet_input, dict) or not isinstance(cmdlet_input.get("CmdletName"), str):
            raise errors.invalid_request('the body is not {"CmdletInput": {"CmdletName": ..., "Parameters": {...}}}')
        cmdlet, parameters = cmdlet_input["CmdletName"], cmdlet_input.get("Parameters", {})
        if not isinstance(parameters, dict) or set(cmdlet_input) - {"CmdletName", "Parameters"}:
            raise errors.invalid_request("CmdletInput holds CmdletName and a Parameters object only")
        if headers.get("X-CmdletName", "").casefold() != cmdlet.casefold():
            raise errors.invalid_request(f"X-CmdletName {headers.get('X-CmdletName')!r} does not name {cmdlet!r}")
        for name, value in parameters.items():
            if isinstance(value, dict) and value.get("@odata.type") != HASHTABLE:
                raise errors.invalid_request(f"the hashtable parameter {name} has no @odata.type {HASHTABLE}")
        return cmdlet, parameters

    # -- one call ---------------------------------------------------------------------------------------------

    def _invoke(
        self, root: str, query: list[tuple[str, str]], headers: Mapping[str, str], body: Any, timeout: float | None,
        lost: list[Fault], admission: Admission | None = None,
    ) -> Answer:  # fmt: skip
        """One InvokeCommand: validated, faulted, budgeted (unless the batch already was), run, first page."""
        try:
            cmdlet, parameters = self._check_call(headers, body)
        except RestError:
            with self._lock:
                self.counters.rejected += 1
            raise
        page_size = _page_size(headers)
        token = dict(query).get("$skiptoken")
        if token is not None:
            return self._next_page(token, body, page_size)
        self._fault(cmdlet, parameters, timeout, lost)
        write = cmdlet.casefold() in WRITES
        if write and admission is None and self.budget is not None:
            admission = self.budget.admit(1, headers.get("connection-id", ""))
            try:
                answer = self._run(root, cmdlet, parameters, query, body, page_size, admission)
            finally:
                self.sleep(admission.service_s)
            return answer
        if not write and self.read_cost_s:
            self.sleep(self.read_cost_s)
        return self._run(root, cmdlet, parameters, query, body, page_size, admission)

    def _run(
        self, root: str, cmdlet: str, parameters: dict[str, Any], query: list[tuple[str, str]], body: Any,
        page_size: int, admission: Admission | None,
    ) -> Answer:  # fmt: skip
        write = cmdlet.casefold() in WRITES
        with self._lock:
            self.counters.invocations += 1
            entry = {"cmdlet": cmdlet, "parameters": copy.deepcopy(parameters), "status": 200}
            self.log.append(entry)
            try:
                outcome = self.directory.run(cmdlet, parameters)
            except RestError as refused:
                entry["status"] = refused.status
                raise
            if write:
                self.counters.writes[cmdlet] += 1
                self.counters.modified[cmdlet] += outcome.changed
        headers = admission.headers if admission is not None else {}
        warnings = [*(admission.warnings() if admission is not None else []), *outcome.warnings]
        select = next(([p.strip() for p in v.split(",")] for k, v in query if k == "$select"), None)
        listing = _Listing(root, body, query, outcome.rows, select, warnings, page_size)
        return 200, self._page(listing, 0), headers

    def _page(self, listing: _Listing, offset: int) -> dict[str, Any]:
        end = offset + listing.page_size
        page: dict[str, Any] = {
            "@odata.context": f"{listing.root}/$metadata#Collection(Exchange.GenericHashTable)",
            "value": [render(row.props(), listing.select) for row in listing.rows[offset:end]],
        }
        with self._lock:
            self.counters.pages += 1
            if end < len(listing.rows):
                token = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.root}#{next(self._pages)}").hex
                self._listings[token] = (listing, end)
                page["@odata.nextLink"] = f"{listing.root}/InvokeCommand?" + urlencode(
                    [*((k, v) for k, v in listing.query if k != "$skiptoken"), ("$skiptoken", token)]
                )
        if end >= len(listing.rows) and listing.warnings:
            page["@adminapi.warnings"] = list(listing.warnings)
        return page

    def _next_page(self, token: str, body: Any, page_size: int) -> Answer:
        with self._lock:
            found = self._listings.get(token)
        if found is None:
            raise errors.invalid_request(f"unknown or expired $skiptoken {token!r}")
        listing, offset = found
        if body != listing.body:
            raise errors.invalid_request("the body POSTed to @odata.nextLink is not the first request's body")
        return 200, self._page(dataclasses.replace(listing, page_size=page_size), offset), {}

    def _fault(self, cmdlet: str, parameters: Mapping[str, Any], timeout: float | None, lost: list[Fault]) -> None:
        with self._lock:
            fault = next((f for f in self.faults if f.hit(cmdlet, parameters)), None)
            if fault is not None:
                self.counters.faults[fault.kind] += 1
        if fault is None:
            return
        if fault.kind == "hang" and not fault.wait(timeout):
            raise requests.exceptions.ReadTimeout(f"the simulated tenant did not answer {cmdlet} in {timeout} s")
        if fault.kind == "lost":
            lost.append(fault)
        if fault.kind == "503":
            raise errors.unavailable()
        if fault.kind == "429":
            raise errors.throttled({"Rate-Limit-Remaining": "0", "Rate-Limit-Reset": "1"})

    # -- $batch -----------------------------------------------------------------------------------------------

    def _batch(self, root: str, headers: Mapping[str, str], body: Any, timeout: float | None) -> Answer:
        items = body.get("requests") if isinstance(body, dict) else None
        try:
            if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
                raise errors.invalid_request(f'a $batch body is {{"requests": [1 to {MAX_BATCH} requests]}}')
            ids = [i.get("id") if isinstance(i, dict) else None for i in items]
            if not all(isinstance(i, str) and i for i in ids) or len(set(ids)) != len(ids):
                raise errors.invalid_request("every $batch request needs an id of its own (a string)")
        except RestError:
            with self._lock:
                self.counters.rejected += 1
            raise
        with self._lock:
            self.counters.batches += 1
        writes = sum(_item_cmdlet(i).casefold() in WRITES for i in items)
        client = headers.get("connection-id", "")
        admission = self.budget.admit(writes, client) if self.budget is not None and writes else None
        go_on = "odata.continue-on-error" in headers.get("Prefer", "").replace(" ", "")
        answers: list[dict[str, Any]] = []
        lost: list[Fault] = []
        try:
            for item in items:
                answers.append(self._item(root, item, headers, timeout, lost, admission))
                if answers[-1]["status"] >= 400 and not go_on:
                    break
        finally:
            if admission is not None:
                self.sleep(admission.service_s)
        if lost:
            raise _Lost()
        return 200, {"responses": answers[::-1]}, dict(admission.headers) if admission is not None else {}

    def _item(
        self, root: str, item: dict[str, Any], outer: Mapping[str, str], timeout: float | None, lost: list[Fault],
        admission: Admission | None,
    ) -> dict[str, Any]:  # fmt: skip
        headers = CaseInsensitiveDict({**dict(outer), **(item.get("headers") or {})})
        url = urlsplit(str(item.get("url", "")))
        try:
            if str(item.get("method", "")).upper() != "POST" or not unquote(url.path).endswith("/InvokeCommand"):
                raise errors.invalid_request("a $batch request here is a POST to InvokeCommand")
            if url.netloc and f"{url.scheme}://{url.netloc}{unquote(url.path)}" != f"{root}/InvokeCommand":
                raise errors.invalid_request(f"{item.get('url')} is not this tenant's InvokeCommand")
            mine = admission if _item_cmdlet(item).casefold() in WRITES else None
            query = parse_qsl(url.query)
            status, body, extra = self._invoke(root, query, headers, item.get("body"), timeout, lost, mine)
        except RestError as refused:
            status, body, extra = refused.status, refused.body, refused.headers
        headers_out = {"Content-Type": "application/json", **extra}
        return {"id": item["id"], "status": status, "headers": headers_out, "body": body}


def _item_cmdlet(item: Any) -> str:
    body = item.get("body") if isinstance(item, dict) else None
    name = body.get("CmdletInput", {}).get("CmdletName") if isinstance(body, dict) else None
    return name if isinstance(name, str) else ""


def _json_body(raw: Any, headers: Mapping[str, str]) -> Any:
    if not headers.get("Content-Type", "").lower().startswith("application/json"):
        raise errors.invalid_request("Content-Type must be application/json")
    try:
        return json.loads(raw.decode() if isinstance(raw, bytes) else raw or "")
    except (ValueError, UnicodeDecodeError):
        raise errors.invalid_request("the body is not JSON") from None


def _page_size(headers: Mapping[str, str]) -> int:
    """`Prefer: odata.maxpagesize=N` (public clients write it with or without spaces, beside other preferences)."""
    match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", headers.get("Prefer", ""), re.I)
    return min(int(match.group(1)), MAX_PAGE) if match and int(match.group(1)) > 0 else MAX_PAGE


__all__ = ["BASE", "Counters", "ExoRestTenant", "Outcome"]
