"""psbridge: typed Python functions and a CLI over PowerShell Remoting for Entra Connect Sync,
Entra Cloud Sync and Exchange, tested by replaying recorded sessions.

Importing psbridge configures no logging and loads no network library; pypsrp is imported when a
session first talks to a host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.command import Command, Parameter
    from psbridge.errors import (
        AccessDeniedError,
        AuthenticationError,
        CommandNotFoundError,
        ConnectError,
        InputError,
        ObjectNotFoundError,
        OperationTimeoutError,
        OutcomeUnknownError,
        ProtocolError,
        PsbridgeError,
        RecordingFormatError,
        RecordingSecretError,
        RemoteCommandError,
        RemoteModuleNotFoundError,
        ReplayError,
        ReplayExhaustedError,
        ReplayMissError,
        ShellNotFoundError,
        TransportError,
        UnexpectedOutputError,
        WSManFault,
    )
    from psbridge.options import ConnectionOptions
    from psbridge.result import InvocationResult, PSObjectData
    from psbridge.session import RetryPolicy, Session
    from psbridge.versions import Version

__version__ = "0.1.0"

_LAZY = {
    "AccessDeniedError": "psbridge.errors",
    "AuthenticationError": "psbridge.errors",
    "Command": "psbridge.command",
    "CommandNotFoundError": "psbridge.errors",
    "ConnectError": "psbridge.errors",
    "ConnectionOptions": "psbridge.options",
    "InputError": "psbridge.errors",
    "InvocationResult": "psbridge.result",
    "ObjectNotFoundError": "psbridge.errors",
    "OperationTimeoutError": "psbridge.errors",
    "OutcomeUnknownError": "psbridge.errors",
    "PSObjectData": "psbridge.result",
    "Parameter": "psbridge.command",
    "ProtocolError": "psbridge.errors",
    "PsbridgeError": "psbridge.errors",
    "RecordingFormatError": "psbridge.errors",
    "RecordingSecretError": "psbridge.errors",
    "RemoteCommandError": "psbridge.errors",
    "RemoteModuleNotFoundError": "psbridge.errors",
    "ReplayError": "psbridge.errors",
    "ReplayExhaustedError": "psbridge.errors",
    "ReplayMissError": "psbridge.errors",
    "RetryPolicy": "psbridge.session",
    "Session": "psbridge.session",
    "ShellNotFoundError": "psbridge.errors",
    "TransportError": "psbridge.errors",
    "UnexpectedOutputError": "psbridge.errors",
    "Version": "psbridge.versions",
    "WSManFault": "psbridge.errors",
}

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "Command",
    "CommandNotFoundError",
    "ConnectError",
    "ConnectionOptions",
    "InputError",
    "InvocationResult",
    "ObjectNotFoundError",
    "OperationTimeoutError",
    "OutcomeUnknownError",
    "PSObjectData",
    "Parameter",
    "ProtocolError",
    "PsbridgeError",
    "RecordingFormatError",
    "RecordingSecretError",
    "RemoteCommandError",
    "RemoteModuleNotFoundError",
    "ReplayError",
    "ReplayExhaustedError",
    "ReplayMissError",
    "RetryPolicy",
    "Session",
    "ShellNotFoundError",
    "TransportError",
    "UnexpectedOutputError",
    "Version",
    "WSManFault",
    "__version__",
]

__getattr__ = _lazy.exporter(__name__, globals(), _LAZY)
