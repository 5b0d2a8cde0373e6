"""Which TLS problem a requests/urllib3 failure is, in words a person can act on.

requests wraps every TLS failure in `requests.exceptions.SSLError` (a missing client key file is a bare
OSError), with the cause a few levels down: urllib3's MaxRetryError -> urllib3 SSLError -> Python's
`ssl.SSLCertVerificationError` (whose `verify_code` is OpenSSL's X509_V_ERR_* number) or `ssl.SSLError`
(whose `reason` is OpenSSL's reason code, such as WRONG_VERSION_NUMBER). `problem` walks that chain and
says which it is, and whether another try may help: a certificate that fails verification, a server that
does not speak TLS, or a client key that cannot be loaded fails again; only a handshake cut short may not.

OpenSSL's verification codes: https://docs.openssl.org/master/man3/X509_STORE_CTX_get_error/
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Iterator

# X509_V_ERR_* numbers (OpenSSL's x509_vfy.h)
_EXPIRED = 10
_NOT_YET_VALID = 9
_NAME_MISMATCH = frozenset({62, 64})  # HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH
_UNTRUSTED = frozenset({2, 18, 19, 20, 21})  # no issuer, self-signed, self-signed in chain, unknown CA
# OpenSSL reasons for bytes that are not a TLS record: the server answered in plain HTTP.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"})
# A handshake cut short (the connection closed or was reset midway): the one kind worth another try.
_CUT_SHORT = frozenset({"UNEXPECTED_EOF_WHILE_READING", "EOF occurred in violation of protocol"})
_ENCRYPTED_KEY = "Client private key is encrypted"  # urllib3.util.ssl_.ssl_wrap_socket, before any byte is sent
_MISSING_FILE = "Could not find the TLS"  # requests.adapters.HTTPAdapter.cert_verify: a certificate or key path


@dataclasses.dataclass(frozen=True)
class Problem:
    """`text` completes "TLS handshake with <host> failed: ..."; `local` means the client's own files are
    at fault (bad input, nothing was sent)."""

    text: str
    transient: bool = False
    local: bool = False


def problem(exc: BaseException) -> Problem | None:
    """The TLS problem behind a requests/urllib3 exception, or None when it is not a TLS failure."""
    for inner in _chain(exc):
        if isinstance(inner, ssl.SSLCertVerificationError):
            return _verification(inner)
    for inner in _chain(exc):
        text = str(inner)
        if _ENCRYPTED_KEY in text:
            return Problem(
                "the client certificate's private key is encrypted; psbridge needs it unencrypted (PEM)", local=True
            )
        if _MISSING_FILE in text:
            return Problem("the client certificate or its key file does not exist", local=True)
        if isinstance(inner, ssl.SSLEOFError | ssl.SSLZeroReturnError) or any(r in text for r in _CUT_SHORT):
            return Problem("the connection closed during the handshake", transient=True)
        if isinstance(inner, ssl.SSLError):
            reason = inner.reason or ""
            if reason in _NOT_TLS:
                return Problem(
                    "the server did not answer in TLS: is this a plain-HTTP port? (WinRM: 5985 HTTP, 5986 HTTPS)"
                )
            if "PEM lib" in text or reason.startswith("PEM_") or "KEY_VALUES_MISMATCH" in reason:
                return Problem(
                    "cannot load the client certificate or its private key (damaged or mismatched PEM)", local=True
                )
            if "ALERT" in reason:
                return Problem(f"the server refused the handshake ({reason})")
            return Problem(f"TLS error ({reason or type(inner).__name__})")
    return None


def _verification(exc: ssl.SSLCertVerificationError) -> Problem:
    code = exc.verify_code
    if code == _EXPIRED:
        return Problem("the server's certificate has expired")
    if code == _NOT_YET_VALID:
        return Problem("the server's certificate is not valid yet (check both clocks)")
    if code in _NAME_MISMATCH:
        return Problem("the server's certificate is not issued for this host name (it names another host)")
    if code in _UNTRUSTED:
        return Problem(
            "certificate not trusted: self-signed or issued by an unknown CA (give the CA file with cert_validation)"
        )
    return Problem(f"certificate not trusted or invalid ({exc.verify_message})")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception it holds: in args, `reason` (urllib3), cause and context; each once."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo and len(seen) < 50:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend([getattr(item, "reason", None), *item.args, item.__cause__, item.__context__])
