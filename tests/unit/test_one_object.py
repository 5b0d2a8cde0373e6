"""The one "exactly one object" check (`psbridge.models.only`) and the product reads built on it: the same
errors for no object, several objects, and an object the model cannot read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from psbridge import Command, ObjectNotFoundError, Session, UnexpectedOutputError
from psbridge.ad.functions import get_ad_group
from psbridge.cloudsync import runner as cloudsync_runner
from psbridge.exchange import runner as exchange_runner
from psbridge.models import PSModel, only
from psbridge.result import InvocationResult, PSObjectData, Streams
from psbridge.transport.mock import MockTransport


class Thing(PSModel):
    name: str


def row(name: Any) -> PSObjectData:
    return PSObjectData(type_names=("Thing",), properties={"Name": name, "name": name})


def test_one_object_is_validated_into_the_model() -> None:
    assert only(Thing, [row("a")], command="Get-Thing", target="h") == Thing(name="a")


def test_no_object_for_an_identity_is_not_found_naming_it() -> None:
    with pytest.raises(ObjectNotFoundError, match="Get-Thing found no object 'a' on h") as info:
        only(Thing, [], command="Get-Thing", target="h", identity="a")
    assert (info.value.target_name, info.value.target, info.value.command) == ("a", "h", "Get-Thing")


@pytest.mark.parametrize(
    ("objects", "identity", "says"),
    [
        ([], None, "returned 0 objects where one Thing was expected"),
        ([row("a"), row("b")], None, "returned 2 objects where one Thing was expected"),
        ([row("a"), row("b")], "a", "returned 2 objects for 'a' where one Thing was expected"),
        ([row(None)], "a", "returned an object Thing cannot read"),
    ],
)
def test_any_other_count_or_an_unreadable_object_is_unexpected_output(
    objects: list[Any], identity: str | None, says: str
) -> None:
    with pytest.raises(UnexpectedOutputError, match=says) as info:
        only(Thing, objects, command="Get-Thing", target="h", identity=identity)
    assert info.value.raw in (objects, *objects)  # the raw output, or the one object that did not fit


def session_answering(*objects: Any) -> Session:
    def answer(command: Command) -> InvocationResult:
        return InvocationResult(command.display(), tuple(objects), Streams())

    return Session(transport=MockTransport(answer, target="h"))


Read = Callable[[Session], Any]
READS: dict[str, Read] = {
    "ad": lambda session: get_ad_group(session, identity="g"),
    "exchange": lambda session: exchange_runner.one(Thing, session.invoke(Command.cmdlet("Get-Thing")), session, "g"),
}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_product_reads_by_identity_raise_the_same_errors(read: Read) -> None:
    with pytest.raises(ObjectNotFoundError, match="found no object 'g' on h"):
        read(session_answering())
    with pytest.raises(UnexpectedOutputError, match=r"returned 2 objects for 'g' where one \w+ was expected"):
        read(session_answering(row("a"), row("b")))


def test_cloud_sync_reads_raise_the_same_error_for_several_objects() -> None:
    session = session_answering(row("a"), row("b"))
    result = session.invoke(Command.cmdlet("Get-Thing"))
    with pytest.raises(UnexpectedOutputError, match="returned 2 objects where one Thing was expected"):
        cloudsync_runner.one(Thing, result, session)
    assert cloudsync_runner.one(Thing, session_answering({"other": 1}).invoke(Command.cmdlet("X")),
                                session, name="added") == Thing(name="added")  # fmt: skip
