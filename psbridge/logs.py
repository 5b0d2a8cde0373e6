"""Structured logging, without configuring anything on import.

The library logs through structlog. When the application has configured structlog, events go through
that configuration; when it has not, they go to the standard `logging` logger named "psbridge", which
stays silent below WARNING unless the application configures logging. Only the CLI configures output,
in `psbridge.cli.terminal.configure`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

from psbridge.redaction import redact

__all__ = [
    "drop_tokens",
    "get_logger",
    "known_secrets",
    "protect",
    "redact_known",
    "redact_tokens",
]

# Bearer tokens and the keys that carry them (AADCloudSyncTools' state object holds both).
_BEARER = re.compile(r"Bearer\s+[A-Za-z0-9\-_.~+/]+=*", re.IGNORECASE)
_TOKEN_KEYS = frozenset({"accesstoken", "access_token", "authorization", "header", "awstoken", "refresh_token"})


def redact_tokens(text: str) -> str:
    return _BEARER.sub("Bearer <redacted>", text)


def drop_tokens(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: no token-bearing key, Bearer value or protected secret reaches a log line."""
    for key in list(event):
        value = event[key]
        if key.lower() in _TOKEN_KEYS:
            event[key] = "<redacted>"
        elif isinstance(value, str):
            event[key] = redact_known(value)
        elif value is not None and not isinstance(value, bool | int | float):
            shown = str(value)
            cleaned = redact_known(shown)
            if cleaned != shown:
                event[key] = cleaned
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


# Every secret passed to `protect` in this process: the log filter, structlog's processor and the
# CLI's error lines redact them all.
_SECRETS: set[str] = set()


def known_secrets() -> frozenset[str]:
    """The secrets `protect` was given in this process."""
    return frozenset(_SECRETS)


def redact_known(text: str) -> str:
    """`text` without Bearer tokens and without any form of a protected secret."""
    return redact(redact_tokens(text), _SECRETS)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_known(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _RedactingFilter()
# pypsrp and psrpcore log whole SOAP envelopes and PSRP messages at DEBUG level; msal and urllib3
# log token exchanges and request lines.
_PAYLOAD_LOGGERS = (
    "pypsrp.wsman", "pypsrp.messages", "pypsrp.powershell", "pypsrp.serializer", "pypsrp.shell",
    "psrpcore._base", "psrpcore._server", "psrpcore._client",
    # MSAL (token requests and responses) and urllib3, for the Graph backend.
    "msal.application", "msal.token_cache", "msal.authority", "msal.oauth2cli.oauth2", "msal.oauth2cli.oidc",
    "msal.oauth2cli.assertion", "msal.telemetry", "urllib3.connectionpool",
)  # fmt: skip


def protect(secrets: Iterable[str]) -> None:
    """Keep these secrets, in every form (`psbridge.redaction`), out of every log line and CLI error line.

    Called when a session or a sign-in holds secrets, never on import. It remembers them and adds a filter
    to the loggers that dump raw traffic (pypsrp, psrpcore, msal, urllib3) at DEBUG level.
    """
    _SECRETS.update(secret for secret in secrets if secret)
    for name in _PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
