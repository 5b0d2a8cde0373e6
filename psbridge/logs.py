"""Structured logging, without configuring anything on import.

The library logs through structlog. When the application has configured structlog, events go through
that configuration; when it has not, they go to the standard `logging` logger named "psbridge", which
stays silent below WARNING unless the application configures logging. Only the CLI configures output,
in `configure_cli`.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any
from xml.sax.saxutils import escape

import structlog

# Bearer tokens and the keys that carry them (AADCloudSyncTools' state object holds both).
_BEARER = re.compile(r"Bearer\s+[A-Za-z0-9\-_.~+/]+=*", re.IGNORECASE)
_TOKEN_KEYS = frozenset({"accesstoken", "access_token", "authorization", "header", "awstoken", "refresh_token"})


def redact_tokens(text: str) -> str:
    return _BEARER.sub("Bearer <redacted>", text)


def drop_tokens(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: no token-bearing key or Bearer value ever reaches a log line."""
    for key in list(event):
        value = event[key]
        if key.lower() in _TOKEN_KEYS:
            event[key] = "<redacted>"
        elif isinstance(value, str) and "bearer" in value.lower():
            event[key] = redact_tokens(value)
    return event


_STDLIB = structlog.wrap_logger(
    logging.getLogger("psbridge"),
    wrapper_class=structlog.stdlib.BoundLogger,
    processors=[drop_tokens, structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True)],
)


def get_logger(**initial: Any) -> Any:
    """A logger bound to `initial`. Decided per call, so configuring structlog later still takes effect."""
    if structlog.is_configured():
        return structlog.get_logger("psbridge").bind(**initial)
    return _STDLIB.bind(**initial)


def secret_forms(secret: str) -> set[str]:
    """Every form a secret takes in traffic: as text, XML-escaped, and base64 at any byte alignment."""
    forms = {secret, escape(secret), escape(secret, {'"': "&quot;"})}
    raw = secret.encode("utf-8")
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        first = -(-8 * offset // 6)  # characters that still carry bits of the padding bytes
        last = 8 * (offset + len(raw)) // 6  # characters made only of the secret's bits
        if last - first >= 6:
            forms.add(encoded[first:last])
    return {f for f in forms if len(f) >= 4}


class _RedactingFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.forms: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_tokens(message)
        if any(form in cleaned for form in self.forms):
            for form in sorted(self.forms, key=len, reverse=True):
                cleaned = cleaned.replace(form, "<secret>")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _RedactingFilter()
# pypsrp and psrpcore log whole SOAP envelopes and PSRP messages at DEBUG level; msal and vcrpy
# log token exchanges and recorded bodies.
_PAYLOAD_LOGGERS = (
    "pypsrp.wsman", "pypsrp.messages", "pypsrp.powershell", "pypsrp.serializer", "pypsrp.shell",
    "psrpcore._base", "psrpcore._server", "psrpcore._client",
    # MSAL (token requests and responses) and vcrpy (whole recorded bodies), for the Graph backend.
    "msal.application", "msal.token_cache", "msal.authority", "msal.oauth2cli.oauth2", "msal.oauth2cli.oidc",
    "msal.oauth2cli.assertion", "msal.telemetry", "urllib3.connectionpool", "vcr.cassette", "vcr.stubs",
    "vcr.matchers", "vcr.request",
)  # fmt: skip


def protect(secrets: Iterable[str]) -> None:
    """Keep these secrets out of the DEBUG logs of pypsrp and psrpcore, which dump raw traffic.

    Called when a session sends secrets, never on import; it only adds a filter to those loggers.
    """
    for secret in secrets:
        if len(secret) >= 4:
            _FILTER.forms |= secret_forms(secret)
    for name in _PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def configure_cli(verbosity: int, *, json_lines: bool | None = None) -> None:
    """JSON lines on stderr when it is not a terminal, readable lines when it is."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    level = logging.WARNING - 10 * max(0, min(verbosity, 2))
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=True) if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            drop_tokens,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
