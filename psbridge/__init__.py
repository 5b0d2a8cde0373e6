"""psbridge: typed Python functions and a CLI over PowerShell Remoting for Entra Connect Sync,
Entra Cloud Sync and Exchange, tested by replaying recorded sessions.

Importing psbridge configures no logging and loads no network library; pypsrp is imported when a
session first talks to a host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.command import Command as Command
    from psbridge.command import ErrorRule as ErrorRule
    from psbridge.command import Parameter as Parameter
    from psbridge.errors import AccessDeniedError as AccessDeniedError
    from psbridge.errors import AuthenticationError as AuthenticationError
    from psbridge.errors import CommandNotFoundError as CommandNotFoundError
    from psbridge.errors import ConnectError as ConnectError
    from psbridge.errors import ConnectorBusyError as ConnectorBusyError
    from psbridge.errors import ExoRestThrottledError as ExoRestThrottledError
    from psbridge.errors import GraphError as GraphError
    from psbridge.errors import GraphNotFoundError as GraphNotFoundError
    from psbridge.errors import GraphPermissionError as GraphPermissionError
    from psbridge.errors import GraphThrottledError as GraphThrottledError
    from psbridge.errors import InputError as InputError
    from psbridge.errors import InteractiveOnlyError as InteractiveOnlyError
    from psbridge.errors import LocalWriteError as LocalWriteError
    from psbridge.errors import NotConnectedError as NotConnectedError
    from psbridge.errors import ObjectNotFoundError as ObjectNotFoundError
    from psbridge.errors import OperationTimeoutError as OperationTimeoutError
    from psbridge.errors import OutcomeUnknownError as OutcomeUnknownError
    from psbridge.errors import PrerequisiteMissingError as PrerequisiteMissingError
    from psbridge.errors import ProtocolError as ProtocolError
    from psbridge.errors import PsbridgeError as PsbridgeError
    from psbridge.errors import RecordingFormatError as RecordingFormatError
    from psbridge.errors import RecordingSecretError as RecordingSecretError
    from psbridge.errors import RemoteCommandError as RemoteCommandError
    from psbridge.errors import RemoteModuleNotFoundError as RemoteModuleNotFoundError
    from psbridge.errors import ReplayError as ReplayError
    from psbridge.errors import ReplayExhaustedError as ReplayExhaustedError
    from psbridge.errors import ReplayMissError as ReplayMissError
    from psbridge.errors import ScriptNotLocalError as ScriptNotLocalError
    from psbridge.errors import ShellNotFoundError as ShellNotFoundError
    from psbridge.errors import SignInError as SignInError
    from psbridge.errors import SyncedObjectError as SyncedObjectError
    from psbridge.errors import TransientRemoteError as TransientRemoteError
    from psbridge.errors import TransportError as TransportError
    from psbridge.errors import UnexpectedOutputError as UnexpectedOutputError
    from psbridge.errors import WSManFault as WSManFault
    from psbridge.models import Change as Change
    from psbridge.options import ConnectionOptions as ConnectionOptions
    from psbridge.result import InvocationResult as InvocationResult
    from psbridge.result import PSObjectData as PSObjectData
    from psbridge.retry import RetryPolicy as RetryPolicy
    from psbridge.session import Session as Session
    from psbridge.versions import Version as Version

__version__ = "0.1.0"

__getattr__, __dir__ = _lazy.exporter(__name__, globals(), also=("__version__",))
