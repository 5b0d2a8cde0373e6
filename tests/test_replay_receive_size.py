"""Receives sized by what the client's request allows (docs/psrp.md, Receive sizes).

The replay server fills each Receive with as many fragments as fit in the request's MaxEnvelopeSize, capped by
the host's MaxEnvelopeSizekb, as a WinRM host does. Every response is measured where the server sends it, and
the PSRP messages it carries are joined back together there, so "the same output" means the same bytes.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from helpers import cassette
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from psbridge import Command, Session
from psbridge.replay import wire
from psbridge.replay.episodes import EpisodePlayer
from psbridge.replay.server import ReplayServer, requested_envelope_size
from psbridge.replay.transport import replay_options
from psbridge.transport.psrp import HandlerWire, PSRPTransport

ROWS = 150
OLD_CAP = 96 * 1024  # what one Receive carried before it was sized by the request


def listing() -> list[dict[str, object]]:
    """One Get-Mailbox episode whose output is well over 96 KiB: ROWS rows of about 2 KiB each."""
    rows = [
        {"properties": {"Identity": f"user{n:04d}", "Notes": f"{n:04d}-" + "x" * 1000, "Size": {"I32": n}}}
        for n in range(ROWS)
    ]
    return [{"command": "Get-Mailbox", "output": rows}]


@dataclasses.dataclass
class Receive:
    allowed: int | None  # the request's MaxEnvelopeSize
    size: int  # the response body, as sent
    command_id: str | None
    fragments: list[int]  # each fragment's size, header included


class Spy:
    """The server's handler, keeping every Receive's size and the messages its responses carry."""

    def __init__(self, server: ReplayServer) -> None:
        self.server = server
        self.receives: list[Receive] = []
        self.messages: list[tuple[str, bytes]] = []
        self._defrag = wire.Defragmenter()

    def handle(self, data: bytes) -> tuple[int, bytes]:
        status, body = self.server.handle(data)
        request = wire.Request.parse(data)
        if request.action == wire.ACTION_RECEIVE and status == 200:
            command_id, payload = wire.receive_streams(body)
            allowed = requested_envelope_size(data)
            self.receives.append(Receive(allowed, len(body), command_id, fragment_sizes(payload)))
            if command_id is not None:
                self.messages += [(m.message_type.name, m.data) for m in self._defrag.feed(payload)]
        return status, body

    @property
    def pipeline_receives(self) -> list[Receive]:
        return [r for r in self.receives if r.command_id is not None]


def fragment_sizes(payload: bytes) -> list[int]:
    sizes, at = [], 0
    while at < len(payload):
        length = 21 + int.from_bytes(payload[at + 17 : at + 21], "big")
        sizes.append(length)
        at += length
    return sizes


def server(**kwargs: int) -> ReplayServer:
    recorded = cassette(listing())
    return ReplayServer(EpisodePlayer(recorded.episodes, "receive sizes"), recorded.pool, **kwargs)


def read_with_pypsrp(max_envelope_size: int, **kwargs: int) -> tuple[Spy, list[tuple[object, ...]]]:
    """Plain pypsrp asking for `max_envelope_size` (so it keeps it: it only raises its default, 153600)."""
    spy = Spy(server(**kwargs))
    wsman = WSMan(
        "127.0.0.1", ssl=False, auth="basic", username="u", password="p", encryption="never",
        max_envelope_size=max_envelope_size,
    )  # fmt: skip
    wsman.transport = HandlerWire(spy.handle)  # type: ignore[assignment]
    with RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox")
        output = ps.invoke()
        assert not ps.had_errors
    rows = [tuple(o.extended_properties[k] for k in ("Identity", "Notes", "Size")) for o in output]
    return spy, rows


def test_the_listing_is_over_the_old_cap() -> None:
    spy, rows = read_with_pypsrp(512_000)
    assert len(rows) == ROWS
    assert sum(len(data) for _, data in spy.messages) > 2 * OLD_CAP


def test_a_client_that_allows_more_needs_fewer_receives_for_the_same_bytes() -> None:
    runs = {size: read_with_pypsrp(size) for size in (20_480, 102_400, 512_000)}
    counts = [len(spy.pipeline_receives) for spy, _ in runs.values()]
    assert counts[0] > counts[1] > counts[2] == 1, counts  # the whole listing fits in one 500 KiB response
    (first_spy, first_rows), *others = runs.values()
    assert len(first_rows) == ROWS
    for spy, rows in others:
        assert rows == first_rows
        assert spy.messages == first_spy.messages  # byte for byte, whatever the Receive sizes


@pytest.mark.parametrize("allowed", [8_192, 20_480, 102_400])
def test_every_response_fits_the_size_the_client_asked_for_and_is_filled(allowed: int) -> None:
    spy, _ = read_with_pypsrp(allowed)
    assert spy.receives and all(r.allowed == allowed and r.size <= allowed for r in spy.receives)
    *filled, _last = spy.pipeline_receives
    assert filled, "the listing should need several Receives at this size"
    # as many fragments as fit (MS-PSRP 3.2.5.1.1): every Receive but the last is full to a few bytes
    assert all(r.size > allowed - 64 for r in filled), [r.size for r in filled]
    assert all(size <= 32 * 1024 for r in spy.receives for size in r.fragments)  # PowerShell's fragment size


def test_psbridge_gets_its_output_in_one_receive_and_a_smaller_host_cap_still_bounds_it() -> None:
    """psbridge's own client (pypsrp raised to 512,000 after the pool opens): one Receive for this listing
    from a default host; a host configured with MaxEnvelopeSizekb 64 sends it in several, each within 64 KiB,
    and the output is the same."""
    outputs, spies = [], []
    for kwargs in ({}, {"max_envelope_size_kb": 64}):
        spy = Spy(server(**kwargs))
        with Session(transport=PSRPTransport(replay_options(), wire=lambda _http, s=spy: HandlerWire(s.handle))) as s:
            outputs.append([row.get("Notes") for row in s.invoke(Command.cmdlet("Get-Mailbox")).output])
        spies.append(spy)
    default, capped = spies
    assert [r.allowed for r in default.pipeline_receives] == [512_000]
    assert len(capped.pipeline_receives) > 3 and all(r.size <= 64 * 1024 for r in capped.receives)
    assert outputs[0] == outputs[1] and len(outputs[0]) == ROWS
    assert default.messages == capped.messages


def test_a_host_cap_below_the_protocol_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="32 at least"):
        server(max_envelope_size_kb=31)


def test_a_request_without_the_header_is_sized_by_the_host() -> None:
    """MS-WSMV 3.1.4.1.7: a request without MaxEnvelopeSize gets the host's own MaxEnvelopeSizekb."""
    spy = Spy(server(max_envelope_size_kb=32))
    header = re.compile(rb"<wsman:MaxEnvelopeSize[^>]*>\d+</wsman:MaxEnvelopeSize>")
    wsman = WSMan("127.0.0.1", ssl=False, auth="basic", username="u", password="p", encryption="never")
    wsman.transport = HandlerWire(lambda data: spy.handle(header.sub(b"", data)))  # type: ignore[assignment]
    with RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox")
        assert len(ps.invoke()) == ROWS
    assert {r.allowed for r in spy.receives} == {None}
    assert len(spy.pipeline_receives) > 3 and all(r.size <= 32 * 1024 for r in spy.receives)
