import pytest
from pydantic import BaseModel

from psbridge import InputError, Version


@pytest.mark.parametrize(
    ("newer", "older"),
    [("2.5.190.0", "2.5.79.0"), ("2.6.1.0", "2.5.190.0"), ("10.0.0.0", "9.9.9.9"), ("2.5.79.1", "2.5.79.0")],
)
def test_compares_numerically_not_as_text(newer: str, older: str) -> None:
    assert Version(newer) > Version(older)
    assert sorted([Version(newer), Version(older)]) == [Version(older), Version(newer)]


def test_text_order_would_be_wrong_here() -> None:
    assert "2.5.190.0" < "2.5.79.0"  # the trap Version avoids
    assert Version("2.5.190.0") > Version("2.5.79.0")


def test_three_parts_normalize_to_four() -> None:
    assert Version("2.5.79") == Version("2.5.79.0")
    assert str(Version("2.5.79")) == "2.5.79.0"
    assert str(Version("2.5")) == "2.5.0.0"
    assert hash(Version("2.5.79")) == hash(Version("2.5.79.0"))


@pytest.mark.parametrize("text", ["banana", "", "2", "2.5.x.0", "1.2.3.4.5", "-1.0.0.0", "2..5.0", "2.5.79.0 extra"])
def test_malformed_is_a_clear_input_error(text: str) -> None:
    with pytest.raises(InputError, match="not a version"):
        Version(text)


def test_pydantic_field_parses_and_serializes_as_text() -> None:
    class M(BaseModel):
        v: Version

    m = M.model_validate({"v": "2.5.190"})
    assert m.v == Version("2.5.190.0")
    assert m.model_dump(mode="json") == {"v": "2.5.190.0"}
