"""NTLM for the loopback endpoint: pyspnego's acceptor, and WinRM message encryption over plain HTTP.

The handshake is the one a Windows host runs. A request with no security context gets 401 with
`WWW-Authenticate: Negotiate`. The client answers on the same keep-alive connection with
`Authorization: Negotiate <base64 token>`. pypsrp sends raw NTLM tokens with `auth="ntlm"` and
SPNEGO-wrapped ones with `auth="negotiate"`, and pyspnego's Negotiate acceptor takes both. The
challenge goes back in a second 401, and the Authenticate message arrives with the request itself.
From then on the connection is authenticated: each connection has its own `Connection` (its own
context and sealing sequence). A new TCP connection starts unauthenticated.

Message encryption follows MS-WSMV's `multipart/encrypted` framing, as pypsrp's `WinRMEncryption`
writes and reads it:

    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/HTTP-SPNEGO-session-encrypted\\r\\n
    \\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plaintext length>\\r\\n
    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/octet-stream\\r\\n
    <signature length, 4 bytes little-endian><signature><sealed SOAP>--Encrypted Boundary--\\r\\n

The Content-Type header names the protocol and the boundary. The signature and sealing are the
context's `wrap_winrm`/`unwrap_winrm`.

pyspnego's NTLM acceptor takes its users only from the file named by the `NTLM_USER_FILE` environment
variable. It reads that variable when a context is created and again when it checks the Authenticate message
(`spnego/_ntlm.py` in pyspnego 0.12). `spnego.server(credentials=...)` is for Kerberos on Windows only. So
`Acceptor` gives it a file that never touches a disk: on Linux an anonymous memory file (`os.memfd_create`),
named `/proc/self/fd/N`, which no other user can open and which vanishes with the process, even after SIGKILL.
The file holds the user's NT and LM hashes in the smbpasswd format pyspnego reads
(`DOMAIN\\USER:0:LM:NT:<flags>:LCT-0`, the flags `U` in brackets), computed with pyspnego's own MD4 (OpenSSL 3
no longer provides it), never the password. `Acceptor` sets the variable only around those two calls, under a
process-wide lock, and then restores whatever value it had before. A user containing `:` or a line break
cannot be written in that format and is refused.

Where there is no memfd (not Linux), the hashes go to a mode 0600 file in a 0700 temporary
directory named with the process id, removed by `close`, at interpreter exit, and, when a process
was killed before it could remove its own, by the next `Acceptor` (a directory whose process is
gone). The residual risk there: between a SIGKILL and the next start, the hashes sit in the user's
temporary directory, readable by that user only; an NT hash is enough to sign in with NTLM as the
replay user (never a real account: the replay user exists only for the loopback endpoint).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import re
import shutil
import struct
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import spnego
from spnego import ContextProxy
from spnego.exceptions import SpnegoError

USER_FILE_ENV = "NTLM_USER_FILE"
_NORMAL_USER = "U"  # the smbpasswd account flag of an ordinary user account
SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = "Encrypted Boundary"
CONTENT_TYPE = f'multipart/encrypted;protocol="{SPNEGO_PROTOCOL}";boundary="{BOUNDARY}"'
CHALLENGE = "Negotiate"  # the WWW-Authenticate value that starts (or restarts) a handshake

_ENV_LOCK = threading.Lock()
_PREFIX = "psbridge-ntlm-"  # + the process id: the fallback user file's directory
_PARAM = re.compile(r'(\w+)="?([^";]*)"?')


class Refused(Exception):
    """The client's token or sealed message is not valid here: answered with 401 Negotiate."""


class Malformed(ValueError):
    """The body is not a `multipart/encrypted` message in WinRM's framing: answered with 400."""


class Acceptor:
    """Accepts NTLM (raw or inside SPNEGO) for one configured user; `close` drops its in-memory user file."""

    def __init__(self, user: str, password: str) -> None:
        if any(c in user for c in ":\r\n") or not user or not password:
            raise ValueError(
                "an NTLM replay user and password must be non-empty, and the user has no ':' or line break"
            )
        from spnego._ntlm_raw.crypto import lmowfv1, ntowfv1

        try:
            entry = f"{user}:0:{lmowfv1(password).hex()}:{ntowfv1(password).hex()}:[{_NORMAL_USER}]:LCT-0\n".encode()
        except UnicodeEncodeError:
            raise ValueError("the NTLM replay password is not valid text (it cannot be encoded)") from None
        self._fd: int | None = None
        self._dir: Path | None = None
        if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
            self._fd = os.memfd_create("psbridge-ntlm-users")  # close-on-exec: no child inherits it
            os.fchmod(self._fd, 0o600)
            os.write(self._fd, entry)
            self.user_file = Path(f"/proc/self/fd/{self._fd}")
        else:
            _remove_stale()
            self._dir = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))  # mkdtemp makes it 0700
            self.user_file = self._dir / "users"
            fd = os.open(self.user_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(entry)
            atexit.register(self.close)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    @contextlib.contextmanager
    def _user_file(self) -> Iterator[None]:
        with _ENV_LOCK:
            before = os.environ.get(USER_FILE_ENV)
            os.environ[USER_FILE_ENV] = str(self.user_file)
            try:
                yield
            finally:
                if before is None:
                    del os.environ[USER_FILE_ENV]
                else:
                    os.environ[USER_FILE_ENV] = before

    def context(self) -> ContextProxy:
        with self._user_file():
            return spnego.server(protocol="negotiate")

    def step(self, context: ContextProxy, token: bytes) -> bytes | None:
        with self._user_file():
            return context.step(token)


class Connection:
    """One TCP connection's security state: the handshake, then sealing and unsealing its messages."""

    def __init__(self, acceptor: Acceptor) -> None:
        self.acceptor = acceptor
        self._context: ContextProxy | None = None

    @property
    def authenticated(self) -> bool:
        return self._context is not None and self._context.complete

    def reset(self) -> None:
        """Forget the security context: the next request must authenticate again."""
        self._context = None

    def accept(self, header: str) -> bytes | None:
        """Step the handshake with an `Authorization` header; returns the token for `WWW-Authenticate`.

        Once `authenticated`, the returned token (if any) is the last one, sent with the reply. A
        token that does not verify (a wrong password, an unknown user, garbage) raises `Refused`.
        """
        scheme, _, encoded = header.strip().partition(" ")
        if scheme.lower() not in ("negotiate", "ntlm") or not encoded.strip():
            self.reset()
            raise Refused(f"unsupported authorization scheme {scheme!r}")
        if self._context is None or self._context.complete:
            self._context = self.acceptor.context()  # a new handshake, even on an authenticated connection
        try:
            token = base64.b64decode(encoded.strip(), validate=True)
            return self.acceptor.step(self._context, token)
        except Exception as exc:  # pyspnego raises many types for bad tokens; each one is a refusal
            self.reset()
            raise Refused(type(exc).__name__) from None

    def unwrap(self, content_type: str, body: bytes) -> bytes:
        """The plaintext SOAP of a `multipart/encrypted` request sealed with this connection's context."""
        params = {k.lower(): v for k, v in _PARAM.findall(content_type)}
        if params.get("protocol", "").lower() != SPNEGO_PROTOCOL.lower() or not params.get("boundary"):
            raise Malformed("expected multipart/encrypted with the HTTP-SPNEGO-session-encrypted protocol")
        boundary = params["boundary"].encode()
        head = re.match(
            rb"--" + re.escape(boundary) + rb"\r\n\tContent-Type: ([^\r]*)\r\n"
            rb"\tOriginalContent: type=[^;\r]*;charset=UTF-8;Length=(\d+)\r\n"
            rb"--" + re.escape(boundary) + rb"\r\n\tContent-Type: application/octet-stream\r\n",
            body,
        )
        end = b"--" + boundary + b"--\r\n"
        if head is None or head.group(1).decode("latin-1").lower() != SPNEGO_PROTOCOL.lower() or not body.endswith(end):
            raise Malformed("the body is not one part in WinRM's multipart/encrypted framing")
        sealed = body[head.end() : -len(end)]
        if len(sealed) < 4 or len(sealed) < 4 + (size := struct.unpack("<I", sealed[:4])[0]):
            raise Malformed("the encrypted part is shorter than its signature")
        if self._context is None or not self._context.complete:
            raise Refused("no security context on this connection")
        try:
            plain = self._context.unwrap_winrm(sealed[4 : 4 + size], sealed[4 + size :])
        except SpnegoError as exc:
            self.reset()  # the sealing sequence is now out of step: the client must authenticate again
            raise Refused(type(exc).__name__) from None
        if len(plain) != int(head.group(2)):
            raise Malformed(f"decrypted {len(plain)} bytes where OriginalContent says {int(head.group(2))}")
        return plain

    def wrap(self, soap: bytes) -> bytes:
        """`soap` sealed with this connection's context, framed as `CONTENT_TYPE` describes."""
        if self._context is None or not self._context.complete:
            raise Refused("no security context on this connection")
        result = self._context.wrap_winrm(soap)
        header = result.header
        return b"".join(
            (
                f"--{BOUNDARY}\r\n\tContent-Type: {SPNEGO_PROTOCOL}\r\n"
                f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={len(soap) + result.padding_length}"
                f"\r\n--{BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n".encode(),
                struct.pack("<I", len(header)),
                header,
                result.data,
                f"--{BOUNDARY}--\r\n".encode(),
            )
        )


def _remove_stale() -> None:
    """Fallback user-file directories (see the module docstring) of processes that no longer run."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        pid = folder.name.removeprefix(_PREFIX).split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)) and folder.owner() == _me():
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: it exists
    return True


def _me() -> str:
    import getpass

    return getpass.getuser() if sys.platform != "win32" else os.environ.get("USERNAME", "")


def is_encrypted(content_type: str) -> bool:
    return content_type.lower().startswith("multipart/encrypted")
