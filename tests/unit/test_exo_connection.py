import pytest
from pydantic import ValidationError

from psbridge import Command, Session
from psbridge.exchange.connection import DISCONNECT, ExoConnection, connect_exchange_online
from psbridge.result import InvocationResult, Streams
from psbridge.transport.mock import MockTransport

THUMB = "3A8F2C1D9E7B6A5F4C3D2E1F0A9B8C7D6E5F4A3B"


def test_app_only_connect_binds_parameters_and_hides_the_banner() -> None:
    command = ExoConnection(organization="contoso.onmicrosoft.com", app_id="a1b2", certificate_thumbprint=THUMB)
    params = {p.name: p.value for p in command.connect_command().parameters}
    assert params == {
        "Organization": "contoso.onmicrosoft.com", "ShowBanner": False, "AppId": "a1b2", "CertificateThumbprint": THUMB
    }  # fmt: skip
    assert {p.name: p.value for p in DISCONNECT.parameters} == {"Confirm": False}


@pytest.mark.parametrize(
    "values",
    [
        {"organization": "contoso.com", "app_id": "a", "certificate_thumbprint": THUMB},  # not .onmicrosoft.com
        {"organization": "contoso.onmicrosoft.com", "app_id": "a"},  # no certificate
        {"organization": "contoso.onmicrosoft.com", "app_id": "a", "certificate_thumbprint": "xyz"},
        {"organization": "contoso.onmicrosoft.com", "managed_identity": True, "app_id": "a"},
    ],
)
def test_bad_settings_are_refused(values: dict) -> None:
    with pytest.raises(ValidationError):
        ExoConnection(**values)


def test_connects_once_per_runspace_and_disconnects_on_close() -> None:
    transport = MockTransport(lambda c: InvocationResult(c.display(), (), Streams()))
    session = Session(transport=transport)
    connect_exchange_online(session, ExoConnection(organization="contoso.onmicrosoft.com", managed_identity=True))
    for _ in range(3):
        session.invoke(Command.cmdlet("Get-Mailbox"))
    session.close()
    assert [c.name for c in transport.calls] == [
        "Connect-ExchangeOnline", "Get-Mailbox", "Get-Mailbox", "Get-Mailbox", "Disconnect-ExchangeOnline"
    ]  # fmt: skip
