"""psbridge: typed Python functions and a CLI over PowerShell Remoting for Entra Connect Sync,
Entra Cloud Sync and Exchange, tested by replaying recorded sessions.

Importing psbridge configures no logging and loads no network library; pypsrp is imported when a
session first talks to a host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.command import Command, ErrorRule, Parameter
    from psbridge.errors import (
        AccessDeniedError,
        AuthenticationError,
        CommandNotFoundError,
        ConnectError,
        ConnectorBusyError,
        GraphError,
        GraphNotFoundError,
        GraphPermissionError,
        GraphThrottledError,
        InputError,
        InteractiveOnlyError,
        NotConnectedError,
        ObjectNotFoundError,
        OperationTimeoutError,
        OutcomeUnknownError,
        PrerequisiteMissingError,
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
        SignInError,
        SyncedObjectError,
        TransientRemoteError,
        TransportError,
        UnexpectedOutputError,
        WSManFault,
    )
    from psbridge.models import Change
    from psbridge.options import ConnectionOptions
    from psbridge.result import InvocationResult, PSObjectData
    from psbridge.session import RetryPolicy, Session
    from psbridge.versions import Version

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "Change",
    "Command",
    "CommandNotFoundError",
    "ConnectError",
    "ConnectionOptions",
    "ConnectorBusyError",
    "ErrorRule",
    "GraphError",
    "GraphNotFoundError",
    "GraphPermissionError",
    "GraphThrottledError",
    "InputError",
    "InteractiveOnlyError",
    "InvocationResult",
    "NotConnectedError",
    "ObjectNotFoundError",
    "OperationTimeoutError",
    "OutcomeUnknownError",
    "PSObjectData",
    "Parameter",
    "PrerequisiteMissingError",
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
    "SignInError",
    "SyncedObjectError",
    "TransientRemoteError",
    "TransportError",
    "UnexpectedOutputError",
    "Version",
    "WSManFault",
    "__version__",
]
_LAZY = {
    "Command": "psbridge.command",
    "ErrorRule": "psbridge.command",
    "Parameter": "psbridge.command",
    "AccessDeniedError": "psbridge.errors",
    "AuthenticationError": "psbridge.errors",
    "CommandNotFoundError": "psbridge.errors",
    "ConnectError": "psbridge.errors",
    "ConnectorBusyError": "psbridge.errors",
    "GraphError": "psbridge.errors",
    "GraphNotFoundError": "psbridge.errors",
    "GraphPermissionError": "psbridge.errors",
    "GraphThrottledError": "psbridge.errors",
    "InputError": "psbridge.errors",
    "InteractiveOnlyError": "psbridge.errors",
    "NotConnectedError": "psbridge.errors",
    "ObjectNotFoundError": "psbridge.errors",
    "OperationTimeoutError": "psbridge.errors",
    "OutcomeUnknownError": "psbridge.errors",
    "PrerequisiteMissingError": "psbridge.errors",
    "ProtocolError": "psbridge.errors",
    "PsbridgeError": "psbridge.errors",
    "RecordingFormatError": "psbridge.errors",
    "RecordingSecretError": "psbridge.errors",
    "RemoteCommandError": "psbridge.errors",
    "RemoteModuleNotFoundError": "psbridge.errors",
    "ReplayError": "psbridge.errors",
    "ReplayExhaustedError": "psbridge.errors",
    "ReplayMissError": "psbridge.errors",
    "ShellNotFoundError": "psbridge.errors",
    "SignInError": "psbridge.errors",
    "SyncedObjectError": "psbridge.errors",
    "TransportError": "psbridge.errors",
    "TransientRemoteError": "psbridge.errors",
    "UnexpectedOutputError": "psbridge.errors",
    "WSManFault": "psbridge.errors",
    "Change": "psbridge.models",
    "ConnectionOptions": "psbridge.options",
    "InvocationResult": "psbridge.result",
    "PSObjectData": "psbridge.result",
    "RetryPolicy": "psbridge.session",
    "Session": "psbridge.session",
    "Version": "psbridge.versions",
}
__getattr__ = _lazy.exporter(__name__, globals(), _LAZY)
