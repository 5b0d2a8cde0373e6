"""The forms a secret takes in text, and one function that removes them: every redactor uses these two.

A secret travels and gets echoed in more shapes than its plain text: XML-escaped in SOAP and CLIXML,
JSON-escaped in Graph bodies, URL-encoded in form posts (an OAuth client secret) and in the error text
a server echoes back, and base64-encoded in a Basic `Authorization` header (`user:password`) or in any
base64 payload, where it may start at any of the three byte alignments.

The rule for short secrets: a form of `SHORT` (4) characters or more is replaced wherever it occurs;
a shorter form only where it stands alone, not touching a letter or a digit, so that a one-character
"secret" does not cut every word it occurs in. Empty secrets are ignored.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

SHORT = 4
PLACEHOLDER = "<secret>"
# base64 characters that depend on the secret's bits alone: fewer would match unrelated payloads.
_MIN_BASE64_CORE = 6


def secret_forms(secret: str) -> set[str]:
    """Every form of `secret`: plain, XML- and HTML-escaped, JSON-escaped, URL-encoded and base64.

    The base64 forms are the whole encoding of the secret alone, and, for the secret and its XML-escaped
    forms (CLIXML inside PSRP's base64), at each of the three byte alignments the characters made only
    of its bits, standard and URL-safe, from its UTF-8 and its Latin-1 bytes: so it is found inside a
    longer base64 string too, such as `base64(user:password)` in a Basic header (Latin-1, as requests
    encodes it).
    """
    if not secret:
        return set()
    forms = {
        secret,
        escape(secret),
        escape(secret, {'"': "&quot;"}),
        escape(secret, {'"': "&quot;", "'": "&apos;"}),
        html.escape(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(_utf8(secret)),
        quote(_utf8(secret), safe=""),
        quote_plus(_utf8(secret)),
        base64.b64encode(_utf8(secret)).decode("ascii"),
    }
    # PSRP carries CLIXML (the secret XML-escaped) inside base64: the escaped forms are encoded too; and a
    # Basic header holds `user:password` in Latin-1 (requests), the other encodings UTF-8.
    texts = {secret, escape(secret), escape(secret, {'"': "&quot;", "'": "&apos;"})}
    for raw in {_utf8(text) for text in texts} | {raw for text in texts if (raw := _latin1(text))}:
        for offset in range(3):
            encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
            first = -(-8 * offset // 6)  # characters that still carry bits of the padding bytes
            last = 8 * (offset + len(raw)) // 6  # characters made only of the secret's bits
            if last - first >= _MIN_BASE64_CORE:
                core = encoded[first:last]
                forms |= {core, core.replace("+", "-").replace("/", "_")}
    return {form for form in forms if form}


def _utf8(text: str) -> bytes:
    """The bytes of `text`; a secret read from the environment may hold undecodable bytes as surrogates."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _latin1(text: str) -> bytes | None:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None  # basic auth refuses such a credential up front (ConnectionOptions)


@functools.lru_cache(maxsize=64)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    forms = {form for secret in secrets for form in secret_forms(secret)}
    if not forms:
        return None
    parts = []
    for form in sorted(forms, key=lambda f: (-len(f), f)):  # the longest first: no half-replaced forms
        escaped = re.escape(form)
        parts.append(escaped if len(form) >= SHORT else rf"(?<![^\W_]){escaped}(?![^\W_])")
    return re.compile("|".join(parts))


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every form of every secret replaced by `<secret>` (see the module docstring's rule)."""
    pattern = _pattern(frozenset(s for s in secrets if s))
    return text if pattern is None else pattern.sub(PLACEHOLDER, text)
