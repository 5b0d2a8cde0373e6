import pytest

from psbridge import Command, ConnectionOptions, InputError


def test_none_parameters_are_left_out_and_order_kept() -> None:
    cmd = Command.cmdlet("Get-Mailbox", {"Identity": "a", "ResultSize": None, "Filter": "x"})
    assert [p.name for p in cmd.parameters] == ["Identity", "Filter"]


def test_secret_parameters_are_hidden_in_display() -> None:
    cmd = Command.cmdlet("Connect-Thing", {"User": "u", "Password": "s3cret-value"}, secret=["password"])
    assert "s3cret-value" not in cmd.display()
    assert "-Password <secret>" in cmd.display()
    assert cmd.secret_values() == ["s3cret-value"]


@pytest.mark.parametrize("name", ["", "Get-Thing; Remove-Item", "Get-Thing $(x)", "a b", "Get`Thing"])
def test_cmdlet_names_that_are_code_are_refused(name: str) -> None:
    with pytest.raises(InputError):
        Command.cmdlet(name)


def test_bad_parameter_names_and_unknown_secrets_are_refused() -> None:
    with pytest.raises(InputError):
        Command.cmdlet("Get-Thing", {"Identity; rm": 1})
    with pytest.raises(InputError, match="not given"):
        Command.cmdlet("Get-Thing", {"A": 1}, secret=["B"])


def test_scripts_must_be_packaged() -> None:
    assert Command.script("adsync/Get-GlobalParameters.ps1").text.lstrip().startswith("#")
    for name in ("nope.ps1", "../x.ps1", "adsync/Get-GlobalParameters.txt"):
        with pytest.raises(InputError):
            Command.script(name)


def test_options_validate_in_one_line_and_hide_the_password() -> None:
    opts = ConnectionOptions.build(host="h", username="u", password="Sup3r-Secret!")
    assert "Sup3r-Secret!" not in repr(opts) and "Sup3r-Secret!" not in str(opts)
    assert opts.effective_port == 5986 and opts.endpoint == "https://h:5986/wsman"
    with pytest.raises(InputError, match="read_timeout") as info:
        ConnectionOptions.build(host="h", operation_timeout=30, read_timeout=30)
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="basic auth over plain HTTP"):
        ConnectionOptions.build(host="h", auth="basic", tls=False)
    with pytest.raises(InputError, match="auth"):
        ConnectionOptions.build(host="h", auth="telnet")


def test_long_lists_are_cut_where_commands_are_shown() -> None:
    batch = [f"user{i}@contoso.com" for i in range(100)]
    shown = Command.cmdlet("Set-Thing", {"Identity": batch}).display()
    assert '"user0@contoso.com", "user1@contoso.com", "user2@contoso.com", ... +97 more' in shown
    assert "user50@contoso.com" not in shown
    assert Command.cmdlet("Set-Thing", {"Identity": batch[:5]}).display().count("@") == 5  # short lists in full
