"""Structured logging, without configuring anything on import.

The library logs through structlog. When the application has configured structlog, events go through
that configuration; when it has not, they go to the standard `logging` logger named "psbridge", which
stays silent below WARNING unless the application configures logging. Only the CLI configures output,
in `configure_cli`.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def get_logger(**initial: Any) -> Any:
    if structlog.is_configured():
        return structlog.get_logger("psbridge").bind(**initial)
    return structlog.wrap_logger(
        logging.getLogger("psbridge"),
        wrapper_class=structlog.stdlib.BoundLogger,
        processors=[structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True)],
    ).bind(**initial)


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
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
