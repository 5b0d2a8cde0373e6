"""Exchange Online's InvokeCommand wire: every undocumented detail, in this one module (docs/exchange-rest.md).

Microsoft does not document this endpoint. Its ExchangeOnlineManagement module (EXO V3) calls it, and so
do public tools, whose code is where each fact below comes from (read on GitHub):
- CIPP: KelvinTegelaar/CIPP-API, Modules/CIPPCore/Public/GraphHelper/New-ExoRequest.ps1 and
  New-ExoBulkRequest.ps1 (headers, body, paging, `$batch`, the anchor mailbox);
- ExoHelper: GreyCorbel/ExoHelper, Commands/Public/Invoke-ExoCommand.ps1 and
  Commands/Internal/Get-ExoException.ps1 (`$select`, the error body, the concurrency error retried);
- M365Permissions: jflieben/M365Permissions, private/new-ExOQuery.ps1 (headers, page size 1000);
- Vasil Michev, "All you need to know about Exchange Online Admin API (or how to run cmdlets without
  PowerShell)", parts 1 and 2, https://michev.info/blog/post/5822 and https://michev.info/blog/post/7180
  (the URL, the token audience, annotations, warnings, rate-limit headers).
Whatever the sources leave open is a setting (`WireSettings`) or parsed tolerantly. This module does no I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from psbridge import errors
from psbridge.http_client import retry_after_s
from psbridge.result import ErrorRecordData

# The module's own host; sovereign clouds have their own (e.g. outlook.office365.us), hence a setting.
DEFAULT_HOST = "outlook.office365.com"
DEFAULT_BASE_URL = f"https://{DEFAULT_HOST}"
API_PATH = "/adminapi/beta"  # michev.info part 1; CIPP New-ExoRequest.ps1
MAX_PAGE_SIZE = 1000  # `Prefer: odata.maxpagesize=1000` in CIPP and M365Permissions; larger is not seen used
MAX_BATCH = 10  # CIPP New-ExoBulkRequest.ps1 sends `$batch` in chunks of 10
# The app-only anchor: EXO V3's system mailbox for app access, `APP:` form as CIPP sends it; `{tenant}` is replaced.
DEFAULT_ANCHOR = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@{tenant}"
HASHTABLE_TYPE = "#Exchange.GenericHashTable"  # a hashtable parameter's `@odata.type` (CIPP, ExoHelper)
# The per-tenant concurrency error, whatever its HTTP status; ExoHelper retries it for every command.
CONCURRENCY_TEXT = "maximum number of concurrent requests"
_CMDLET = re.compile(r"^[A-Za-z]+-[A-Za-z0-9]+$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")  # a GUID or a verified domain
_ANNOTATION = re.compile(r"@(?:odata|data)\.[A-Za-z]+$")  # `x@odata.type`, `x@data.type`


@dataclasses.dataclass(frozen=True)
class WireSettings:
    """What public code shows but Microsoft does not promise: the host, the page size, the anchor, the client name."""

    base_url: str = DEFAULT_BASE_URL
    page_size: int = MAX_PAGE_SIZE
    anchor: str = DEFAULT_ANCHOR
    client_name: str = "psbridge"  # sent as X-ClientApplication (CIPP and M365Permissions send one)

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise errors.InputError(f"page size must be 1 to {MAX_PAGE_SIZE}, got {self.page_size}")
        if "{tenant}" not in self.anchor:
            raise errors.InputError("the anchor mailbox must hold `{tenant}`")


def check_tenant(tenant_id: str) -> str:
    if not _TENANT.match(tenant_id):
        raise errors.InputError(f"tenant must be a GUID or a domain name, got {tenant_id!r}")
    return tenant_id


# -- the request ---------------------------------------------------------------------------------------


def invoke_url(base_url: str, tenant_id: str, select: Sequence[str] = ()) -> str:
    """`{base}/adminapi/beta/{tenant}/InvokeCommand[?$select=A,B]` (ExoHelper's PropertiesToLoad)."""
    url = f"{base_url}{API_PATH}/{quote(check_tenant(tenant_id), safe='')}/InvokeCommand"
    names = [check_name(n, "property") for n in select]
    return url + ("?$select=" + ",".join(names) if names else "")


def tenant_of(url: str) -> str | None:
    """The `{tenant}` of a URL under `/adminapi/<version>/{tenant}/` (as `invoke_url` builds them); else None."""
    parts = urlsplit(url).path.split("/")
    return unquote(parts[3]) if len(parts) >= 4 and parts[1] == "adminapi" and parts[3] else None


def batch_url(base_url: str, tenant_id: str) -> str:
    """`{base}/adminapi/beta/{tenant}/$batch` (CIPP New-ExoBulkRequest.ps1)."""
    return f"{base_url}{API_PATH}/{quote(check_tenant(tenant_id), safe='')}/$batch"


def check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise errors.InputError(f"{what} name must be letters and digits, got {name!r}")
    return name


def headers(
    cmdlet: str,
    *,
    tenant_id: str,
    settings: WireSettings,
    request_id: str,
    connection_id: str,
    page_size: int | None = None,
) -> dict[str, str]:
    """The headers of one InvokeCommand request besides Authorization, Accept and Content-Type (CIPP,
    M365Permissions): the cmdlet, the anchor mailbox, the page size, a request id for support (new per call), the
    client's connection id (one per client, as EXO V3's per connection), JSON answers."""
    size = settings.page_size if page_size is None else page_size
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise errors.InputError(f"page size must be 1 to {MAX_PAGE_SIZE}, got {size}")
    return {
        "X-CmdletName": check_cmdlet(cmdlet),
        "X-AnchorMailbox": anchor(settings, tenant_id),
        "Prefer": f"odata.maxpagesize={size}",
        "client-request-id": request_id,
        "connection-id": connection_id,
        "X-ClientApplication": settings.client_name,
        "X-ResponseFormat": "json",
    }


def anchor(settings: WireSettings, tenant_id: str) -> str:
    """The X-AnchorMailbox header: app-only, EXO V3's system mailbox in the tenant (CIPP New-ExoRequest.ps1)."""
    return settings.anchor.replace("{tenant}", check_tenant(tenant_id))


def check_cmdlet(cmdlet: str) -> str:
    if not _CMDLET.match(cmdlet):
        raise errors.InputError(f"a cmdlet name is Verb-Noun, got {cmdlet!r}")
    return cmdlet


def body(cmdlet: str, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`{"CmdletInput": {"CmdletName": ..., "Parameters": {...}}}`. A value is text, a bool (a switch is
    True), an int, a list of text, or a mapping (a hashtable, tagged `#Exchange.GenericHashTable`, e.g.
    EmailAddresses' `{"Add": [...], "Remove": [...]}`); None leaves the parameter out. -Confirm is never sent."""
    plain = {check_name(k, "parameter"): _plain(v, k) for k, v in (parameters or {}).items() if v is not None}
    return {"CmdletInput": {"CmdletName": check_cmdlet(cmdlet), "Parameters": plain}}


def _plain(value: Any, name: str, *, nested: bool = False) -> Any:
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, Mapping) and not nested:
        table = {check_name(str(k), "hashtable key"): _plain(v, name, nested=True) for k, v in value.items()}
        return {"@odata.type": HASHTABLE_TYPE, **table}
    raise errors.InputError(
        f"parameter {name}: a value must be text, a bool, an int, a list of text or a hashtable, "
        f"not {type(value).__name__}"
    )


def shown(cmdlet: str, parameters: Mapping[str, Any] | None = None) -> str:
    """The command as a person reads it: `Get-Mailbox -Identity a@b -ResultSize 1000`; long values cut."""
    parts = [cmdlet]
    for name, value in (parameters or {}).items():
        if value is None:
            continue
        if value is True:
            parts.append(f"-{name}")
            continue
        text = "$false" if value is False else _short(value)
        parts.append(f"-{name} {text}")
    return " ".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        text = "@{" + "; ".join(f"{k}={_short(v)}" for k, v in value.items()) + "}"
    elif isinstance(value, list | tuple):
        text = ",".join(str(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def batch_body(items: Iterable[tuple[str, str, Mapping[str, str], Mapping[str, Any]]]) -> dict[str, Any]:
    """`{"requests": [{"id", "method": "POST", "url", "headers", "body"}, ...]}` (CIPP New-ExoBulkRequest.ps1),
    from (id, url, headers, body) of each request."""
    requests = [
        {"id": rid, "method": "POST", "url": url, "headers": {**head, "Content-Type": "application/json"}, "body": b}
        for rid, url, head, b in items
    ]
    if not 1 <= len(requests) <= MAX_BATCH:
        raise errors.InputError(f"a batch holds 1 to {MAX_BATCH} requests, got {len(requests)}")
    return {"requests": requests}


# -- the answer ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Page:
    rows: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]
    next_link: str | None


def page(data: Mapping[str, Any]) -> Page:
    """One page: `value` rows without their OData annotations, `@adminapi.warnings`, `@odata.nextLink`.
    Raises ValueError for what is not a page."""
    value = data.get("value", [])
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise ValueError("the answer has no `value` list of objects")
    found = data.get("@adminapi.warnings") or []
    if not isinstance(found, list):
        found = [found]
    link = data.get("@odata.nextLink")
    if link is not None and not isinstance(link, str):
        raise ValueError("@odata.nextLink is not text")
    return Page(tuple(strip(row) for row in value), tuple(str(w) for w in found), link or None)


def strip(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row without OData's annotations: `X@odata.type`, `X@data.type`, and `@odata.*` keys."""
    return {k: v for k, v in row.items() if not k.startswith("@odata.") and not _ANNOTATION.search(k)}


def batch_answers(data: Mapping[str, Any]) -> dict[str, tuple[int, dict[str, str], Any]]:
    """`{"responses": [{"id", "status", "headers", "body"}]}` by id (they come in any order). ValueError if not."""
    found = data.get("responses")
    if not isinstance(found, list):
        raise ValueError("the $batch answer has no `responses` list")
    out: dict[str, tuple[int, dict[str, str], Any]] = {}
    for item in found:
        if not isinstance(item, dict) or "id" not in item or not isinstance(item.get("status"), int):
            raise ValueError("a $batch response has no id or status")
        head = item.get("headers")
        head = head if isinstance(head, dict) else {}
        out[str(item["id"])] = (item["status"], {str(k): str(v) for k, v in head.items()}, item.get("body"))
    return out


# -- errors --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ErrorBody:
    """What an error answer says: `text` to show, the exception type it names, the service's code."""

    text: str
    exception_type: str = ""
    code: str = ""
    target_name: str = ""
    raw_message: str = ""  # `<ExCode>|<type>|<text>` when it came so: psbridge.exchange.rules reads the segment

    def record(self) -> ErrorRecordData:
        """As an error record, for the classifier the PowerShell path uses (psbridge.exchange.rules.EXO_ERRORS)."""
        return ErrorRecordData(
            message=self.raw_message or self.text,
            fully_qualified_error_id=self.code,
            category="",
            target_name=self.target_name,
            exception_type=self.exception_type,
        )

    @property
    def concurrency(self) -> bool:
        return CONCURRENCY_TEXT in self.text.lower() or CONCURRENCY_TEXT in self.raw_message.lower()


def error_body(data: Any) -> ErrorBody | None:
    """`{"error": {"code", "message", "details": [{"message": "<code>|<type>|<text>", "target"}],
    "innererror": {"type", "internalException": {"message", "type"}}}}` (ExoHelper Get-ExoException.ps1):
    details first, then the inner exception, then the error's own message. None if there is no error."""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    details = [d for d in error.get("details") or [] if isinstance(d, dict) and d.get("message")]
    inner = error.get("innererror") or error.get("innerError") or {}
    inner = inner if isinstance(inner, dict) else {}
    internal = inner.get("internalException")
    internal = internal if isinstance(internal, dict) else {}
    message = str((details[0]["message"] if details else None) or internal.get("message") or error.get("message") or "")
    target = str(details[0].get("target") or "") if details else ""
    parts = message.split("|", 2)
    if len(parts) == 3 and "." in parts[1]:
        code, kind, text = parts
        raw = message
    else:
        code, kind, text, raw = "", "", message, ""
    kind = kind or str(internal.get("type") or inner.get("type") or "")
    return ErrorBody(
        text=" ".join(text.split())[:500],
        exception_type=kind,
        code=code or str(error.get("code") or ""),
        target_name=target,
        raw_message=" ".join(raw.split())[:600],
    )


# -- rate limits ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """`Rate-Limit-Remaining` and `Rate-Limit-Reset` (michev.info part 2); either may be unknown (None)."""

    remaining: int | None
    reset_s: float | None  # seconds from when the answer came until the budget is reset


def rate_limit(head: Mapping[str, str], now: dt.datetime | None = None) -> RateLimit | None:
    """The rate-limit headers, parsed tolerantly: Reset as seconds, an HTTP date or an ISO 8601 time; a
    format not understood is None. None when neither header came."""
    remaining, reset = header(head, "Rate-Limit-Remaining"), header(head, "Rate-Limit-Reset")
    if remaining is None and reset is None:
        return None
    count = None
    if remaining is not None and re.fullmatch(r"\s*\d+\s*", remaining):
        count = int(remaining)
    return RateLimit(count, None if reset is None else seconds_until(reset, now))


def seconds_until(value: str, now: dt.datetime | None = None) -> float | None:
    """Seconds (`"30"`, `"2.5"`), an HTTP date (as Retry-After's, `retry_after_s`), or an ISO 8601 time, as
    seconds from `now`; None if not one."""
    value = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    found = retry_after_s(value, now)
    if found is not None:
        return found
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def header(head: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever its case; None when it is missing or blank."""
    wanted = name.lower()
    return next((str(v) for k, v in head.items() if k.lower() == wanted and str(v).strip()), None)
