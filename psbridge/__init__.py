"""psbridge: typed Python functions and a CLI over PowerShell Remoting for Entra Connect Sync,
Entra Cloud Sync and Exchange, tested by replaying recorded sessions.

Importing psbridge configures no logging and loads no network library; pypsrp is imported when a
session first talks to a host.
"""

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
