"""A connection that fails says where (host and port) and why (refused, a name that does not resolve)."""

from __future__ import annotations

import socket

import pytest
from pytest_mock import MockerFixture

from psbridge.command import Command
from psbridge.errors import ConnectError
from psbridge.options import ConnectionOptions
from psbridge.retry import NO_RETRY
from psbridge.session import Session


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fail(host: str, port: int) -> ConnectError:
    options = ConnectionOptions.build(host=host, port=port, auth="ntlm", username="u", password="p", tls=False)
    with pytest.raises(ConnectError) as raised, Session(options, retry=NO_RETRY, timeout=10) as session:
        session.invoke(Command.cmdlet("Get-Thing"))
    return raised.value


def test_a_refused_connection_names_the_port_and_says_refused() -> None:
    port = _closed_port()
    message = str(_fail("127.0.0.1", port))
    assert f"cannot connect to 127.0.0.1:{port} (connection refused: nothing listens on that port" in message


def test_a_name_that_does_not_resolve_says_so(mocker: MockerFixture) -> None:
    mocker.patch("socket.getaddrinfo", side_effect=socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    message = str(_fail("connect01.contoso.example", 5985))
    assert message == "cannot connect to connect01.contoso.example:5985 (the host name does not resolve (DNS))"
