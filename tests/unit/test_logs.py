import base64
import logging

import pytest

from psbridge import logs
from psbridge.redaction import secret_forms


@pytest.mark.parametrize("prefix", range(7))
def test_secret_is_found_in_base64_at_any_alignment(prefix: int) -> None:
    secret = "Corr3ct-Horse-Battery!"
    payload = base64.b64encode(b"x" * prefix + f"<S N='V'>{secret}</S>".encode() + b"tail").decode()
    assert any(form in payload for form in secret_forms(secret))


def test_payload_loggers_redact_known_secrets(caplog: pytest.LogCaptureFixture) -> None:
    secret = "Pa55-w0rd-<&>"
    logs.protect([secret])
    caplog.set_level(logging.DEBUG, logger="pypsrp.wsman")
    encoded = base64.b64encode(b"ab" + secret.encode()).decode()
    logging.getLogger("pypsrp.wsman").debug("Sending message: %s / %s / %s", secret, "Pa55-w0rd-&lt;&amp;&gt;", encoded)
    assert secret not in caplog.text and "&lt;&amp;" not in caplog.text
    assert encoded not in caplog.text
    assert caplog.text.count("<secret>") >= 3


@pytest.mark.subprocess
def test_library_import_configures_nothing() -> None:
    import subprocess
    import sys

    code = (
        "import logging, structlog, psbridge, psbridge.adsync, psbridge.session; "
        "print(structlog.is_configured(), logging.getLogger().handlers, logging.getLogger('pypsrp.wsman').filters)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False [] []"


def test_tokens_never_reach_a_log_line() -> None:
    event = logs.drop_tokens(
        None, "info", {"event": "x", "AccessToken": "eyJ0eXAi", "message": "Bearer eyJ0eXAi.abc-_"}
    )
    assert event["AccessToken"] == "<redacted>"
    assert event["message"] == "Bearer <redacted>"
    assert "eyJ0eXAi" not in logs.redact_tokens("Authorization: Bearer eyJ0eXAi.abc")


# -- every form of a secret, and one redaction for every redactor -------------------------------------


SECRET = "Wq7&<Se cr/et+>'\"é"


def _carriers(secret: str, user: str = "svc") -> dict[str, str]:
    """Texts that carry the secret the way traffic, logs and error messages do."""
    import json
    from urllib.parse import quote, quote_plus
    from xml.sax.saxutils import escape

    raw = secret.encode()
    carriers = {
        "plain": f"x {secret} y",
        "xml": f"<S>{escape(secret)}</S>",
        "xml quotes": "<S N='" + escape(secret, {'"': "&quot;", "'": "&apos;"}) + "'/>",
        "json": json.dumps({"description": f"bad secret {secret}"}),
        "json ascii": json.dumps({"d": secret}, ensure_ascii=True),
        "url": f"client_secret={quote_plus(secret)}&grant_type=client_credentials",
        "url path": f"/v1.0/x/{quote(secret, safe='')}",
        "basic": "Authorization: Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode(),
        "base64 alone": base64.b64encode(raw).decode(),
        "base64 urlsafe": base64.urlsafe_b64encode(b"ab" + raw).decode(),
    }
    for prefix in range(3):
        carriers[f"base64 at {prefix}"] = base64.b64encode(b"q" * prefix + raw + b"tail").decode()
    return carriers


@pytest.mark.parametrize("name", list(_carriers(SECRET)))
def test_every_form_of_a_secret_is_redacted(name: str) -> None:
    from psbridge.redaction import redact

    text = _carriers(SECRET)[name]
    cleaned = redact(text, [SECRET])
    assert cleaned != text and "<secret>" in cleaned
    assert not any(form in cleaned for form in secret_forms(SECRET))


def test_a_short_secret_is_redacted_only_where_it_stands_alone() -> None:
    """The documented rule: forms under 4 characters only when no letter or digit touches them."""
    from psbridge.redaction import redact

    shown = redact("a passphrase of x9 and of x9z and x9.", ["x9"])
    assert shown == "a passphrase of <secret> and of x9z and <secret>."
    assert redact("abcd inside wordabcdword", ["abcd"]) == "<secret> inside word<secret>word"
    assert redact("nothing", ["", "n"]) == "nothing"


def test_an_error_redacts_every_form_in_its_message_and_text_fields() -> None:
    """PsbridgeError.redact uses the same forms: a client secret a server echoes URL-encoded is removed."""
    from urllib.parse import quote_plus

    from psbridge.errors import GraphError

    exc = GraphError(f"POST /token: HTTP 401: invalid secret {quote_plus(SECRET)}", status=401, code=SECRET)
    exc.redact([SECRET])
    assert quote_plus(SECRET) not in str(exc) and exc.args == (exc.message,) and "<secret>" in str(exc)
    assert exc.code == "<secret>"


def test_protected_secrets_leave_structlog_events_and_every_payload_logger(caplog: pytest.LogCaptureFixture) -> None:
    from urllib.parse import quote_plus

    secret = "Struct-L0g-Secret/+"
    logs.protect([secret])
    assert secret in logs.known_secrets()
    event = logs.drop_tokens(None, "info", {"event": "x", "message": f"echo {quote_plus(secret)}", "n": 3})
    assert event == {"event": "x", "message": "echo <secret>", "n": 3}
    caplog.set_level(logging.DEBUG)
    logging.getLogger("msal.oauth2cli.oauth2").debug("body: client_secret=%s", quote_plus(secret))
    assert quote_plus(secret) not in caplog.text and "client_secret=<secret>" in caplog.text


def test_a_basic_header_is_redacted_in_latin_1_as_requests_sends_it() -> None:
    from psbridge.redaction import redact

    secret = SECRET.replace("é", "e") + "é"  # ends in a character whose Latin-1 and UTF-8 bytes differ
    header = "Basic " + base64.b64encode(f"someone-else:{secret}".encode("latin-1")).decode()
    assert "<secret>" in redact(header, [secret])
