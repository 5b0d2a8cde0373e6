import base64
import logging

import pytest

from psbridge import logs


@pytest.mark.parametrize("prefix", range(7))
def test_secret_is_found_in_base64_at_any_alignment(prefix: int) -> None:
    secret = "Corr3ct-Horse-Battery!"
    payload = base64.b64encode(b"x" * prefix + f"<S N='V'>{secret}</S>".encode() + b"tail").decode()
    assert any(form in payload for form in logs.secret_forms(secret))


def test_payload_loggers_redact_known_secrets(caplog: pytest.LogCaptureFixture) -> None:
    secret = "Pa55-w0rd-<&>"
    logs.protect([secret])
    caplog.set_level(logging.DEBUG, logger="pypsrp.wsman")
    encoded = base64.b64encode(b"ab" + secret.encode()).decode()
    logging.getLogger("pypsrp.wsman").debug("Sending message: %s / %s / %s", secret, "Pa55-w0rd-&lt;&amp;&gt;", encoded)
    assert secret not in caplog.text and "&lt;&amp;" not in caplog.text
    assert encoded not in caplog.text
    assert caplog.text.count("<secret>") >= 3


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
