"""Closing finished pipelines off the call's path (`psbridge.transport.psrp` hands each close over)."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable


class BackgroundCloser:
    """Closes finished pipelines off the call's path: one worker thread sends each close in turn.

    A close is a function the transport hands over (it sends WSMan Signal Terminate on a connection of its
    own); `submit` returns at once. The transport bounds each close's requests (CLEANUP_S each); a close
    that fails is logged (`psbridge.transport.close_failed`, a warning), never raises into a call, and
    is counted against its pool (`unclosed`): that pipeline stays open until the pool closes.
    Closes are grouped by the runspace pool they belong to: `drop` forgets the queued closes of a pool that
    was discarded (its shell took its pipelines with it). `wait_below` counts the pipelines still open on
    the server besides the current call's: the closes submitted and not yet done (the one in flight
    included) and those a failed close left open.
    The worker exits after `idle_s` with nothing to do and starts again with the next close.
    """

    def __init__(self, target: str, *, idle_s: float = 5.0) -> None:
        self.target = target
        self.idle_s = idle_s
        self._unclosed: dict[object, int] = {}
        self._queue: collections.deque[tuple[object, Callable[[], None]]] = collections.deque()
        self._in_flight: object | None = None  # the pool whose close is being sent
        self._in_flight_dropped = False
        self._stopping = False
        self._changed = threading.Condition()
        self._worker: threading.Thread | None = None

    def unclosed(self, pool: object) -> int:
        """How many of `pool`'s pipelines a failed close left open."""
        with self._changed:
            return self._unclosed.get(pool, 0)

    def submit(self, pool: object, close: Callable[[], None]) -> None:
        with self._changed:
            self._stopping = False
            self._queue.append((pool, close))
            self._changed.notify_all()
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name=f"psbridge-close-{self.target}", daemon=True)
                self._worker.start()

    def wait_below(self, limit: int, until: float, pool: object = None) -> bool:
        """Wait until fewer than `limit` pipelines are open besides the current call's (the closes pending,
        and `pool`'s unclosed ones) or no close is pending any more (what is left only deleting the shell
        frees); False if `until` (time.monotonic()) passes first. Counted under one lock, so a close that
        fails meanwhile is counted once."""
        with self._changed:
            while (pending := len(self._queue) + (self._in_flight is not None)) + self._unclosed.get(pool, 0) >= limit:
                if not pending:
                    return True
                left = until - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def drop(self, pool: object) -> None:
        """Forget the closes of a discarded pool; one in flight may fail without a warning."""
        with self._changed:
            self._queue = collections.deque(job for job in self._queue if job[0] is not pool)
            self._unclosed.pop(pool, None)
            if self._in_flight is pool:
                self._in_flight_dropped = True
            self._changed.notify_all()

    def stop(self) -> None:
        """Let an idle worker exit now rather than after `idle_s` (a later `submit` starts one again)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._queue) or self._stopping, self.idle_s)
                if not self._queue:
                    self._worker = None
                    return
                pool, close = self._queue.popleft()
                self._in_flight, self._in_flight_dropped = pool, False
            try:
                close()
            except Exception as exc:  # logged, never raised into a later call
                with self._changed:
                    dropped = self._in_flight_dropped
                    if not dropped:
                        self._unclosed[pool] = self._unclosed.get(pool, 0) + 1
                if not dropped:
                    self._warn(exc)
            finally:
                with self._changed:
                    self._in_flight = None
                    self._changed.notify_all()

    def _warn(self, exc: Exception) -> None:
        from psbridge.logs import get_logger

        get_logger(target=self.target).warning(
            "psbridge.transport.close_failed",
            message=f"closing a finished pipeline on {self.target} in the background failed; the server frees it "
            "when the runspace pool closes",
            error=type(exc).__name__,
        )
