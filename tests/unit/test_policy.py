import datetime as dt

from psbridge.adsync.policy import notes_for
from psbridge.versions import Version

AFTER = dt.date(2026, 11, 25)
BEFORE = dt.date(2026, 9, 1)


def ids(version: str, today: dt.date = AFTER, **kw: Version) -> dict[str, str]:
    return {n.id: n.severity for n in notes_for(Version(version), today=today, **kw)}


def test_below_required_minimum_is_critical_after_the_deadline() -> None:
    assert ids("2.5.76.0")["required-2.5.79.0"] == "critical"
    assert ids("2.5.76.0", BEFORE)["required-2.5.79.0"] == "warning"
    assert "required-2.5.79.0" not in ids("2.5.79.0")


def test_hardening_and_v1_notes() -> None:
    notes = ids("1.6.4.0")
    assert notes["v1-retired"] == "critical"
    assert notes["hardening-2.4.18.0"] == "critical"
    assert "hardening-2.4.18.0" not in ids("2.4.18.0")


def test_end_of_support_from_the_table() -> None:
    assert ids("2.5.79.0")["end-of-support"] == "warning"  # 23 Oct 2026 has passed
    assert ids("2.5.190.0")["end-of-support"] == "info"  # 2 Feb 2027 has not
    assert "end-of-support" not in ids("2.6.92.0")  # no date known


def test_cloud_managed_floor_is_configurable() -> None:
    assert ids("2.5.76.0")["exchange-cloud-managed"] == "warning"  # default floor 2.5.190.0
    assert ids("2.5.76.0", cloud_managed_minimum=Version("2.5.76.0"))["exchange-cloud-managed"] == "info"
