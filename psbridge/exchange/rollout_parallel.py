"""The rollout's parallel sessions: several sessions take batches from one queue (`run_round`).

Each worker is a session with its own pace (adapted to its own micro-delay warnings); the journal and
the tallies are shared under the run's lock, so the journal has one writer at a time and each batch's
lines stay together. Batches partition the mailboxes, so no two sessions ever write the same one: a worker
about to write a batch may take the next one from the queue (`claim`) to read it in the same pipeline, and
that batch is then its own, done next (`Taken`). A write pipeline the service refuses as throttled (a
transient terminating error: Exchange Online's answer to more concurrent requests than it allows) is read
again, and what it left unswitched goes back in the queue after its worker's backoff: never counted as a try.

`MAX_PARALLEL`: Exchange Online once documented 3 concurrent PowerShell sessions per account
(docs/exchange.md, The simulated write budget); today's REST limits are unpublished, so psbridge opens
no more than that.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from psbridge import errors

if TYPE_CHECKING:
    from psbridge.exchange.backend import ExchangeOnline
    from psbridge.exchange.bulk import BatchItem

T = TypeVar("T")

# Sessions writing at once, at most (see the module doc).
MAX_PARALLEL = 3


def check_parallel(parallel: int, sessions: bool = True) -> None:
    """InputError unless `parallel` is 1 to MAX_PARALLEL (more than 1 needs a session factory)."""
    if not 1 <= parallel <= MAX_PARALLEL:
        raise errors.InputError(
            f"parallel must be 1 to {MAX_PARALLEL} (Exchange Online's concurrency per account), not {parallel}"
        )
    if parallel > 1 and not sessions:
        raise errors.InputError("parallel sessions need a session factory (`sessions`)")


def open_sessions(
    factory: Callable[[], ExchangeOnline], count: int, stack: contextlib.ExitStack
) -> list[ExchangeOnline]:
    """`count` sessions from `factory` (jump-host Sessions, or ExoRestClients: one per worker), made at once
    (each signs in), closed with `stack`."""
    made: list[ExchangeOnline] = []
    with concurrent.futures.ThreadPoolExecutor(max(count, 1)) as pool:
        futures = [pool.submit(factory) for _ in range(count)]
        for future in futures:
            with contextlib.suppress(Exception):
                session = future.result()
                stack.enter_context(session)  # closed with the stack: what __enter__ returns is the session itself
                made.append(session)
    if len(made) != count:  # raise the first failure, once the others are closed with the stack
        for future in futures:
            future.result()
    return made


@dataclasses.dataclass
class Worker:
    """One session (a jump-host Session or an ExoRestClient) taking batches: its own pace (adapted to its own
    micro-delays)."""

    session: ExchangeOnline
    pace_ms: int
    throttled: int = 0  # write pipelines refused in a row


class Stopped(Exception):
    """Raised in a worker once the run was interrupted."""


@dataclasses.dataclass(frozen=True)
class Taken(Generic[T]):
    """A batch a worker took: `ahead`, its read when the worker's previous write pipeline read it ahead (one
    result per mailbox, in order), else None (the batch is read first)."""

    chunk: list[T]
    ahead: tuple[BatchItem, ...] | None = None


# Takes the queue's next batch for the calling worker, if there is one and `fits(its size)`: under the run's lock.
Claim = Callable[[Callable[[int], bool]], list[T] | None]


class Batches(Protocol[T]):
    """What `run_round` drives: the rollout's run."""

    workers: list[Worker]
    lock: threading.RLock
    stop: threading.Event

    def batch(
        self, worker: Worker, taken: Taken[T], round_: int, pending: dict[str, T], claim: Claim[T]
    ) -> tuple[list[T], Taken[T] | None]: ...

    def throttled(self, worker: Worker, chunk: list[T]) -> bool: ...


def run_round(run: Batches[T], queue: collections.deque[list[T]], round_: int, pending: dict[str, T]) -> None:
    """Every batch of `queue`, taken in turn by each of the run's workers (one thread per session beyond
    the first); a batch a throttled write left unfinished goes back in the queue after its worker's backoff.
    A worker does the batch its last write pipeline claimed (and read ahead) before it takes another.
    The first error stops the others after their current batch and is raised here."""
    failures: list[BaseException] = []

    def claim(fits: Callable[[int], bool]) -> list[T] | None:
        with run.lock:
            return queue.popleft() if queue and fits(len(queue[0])) else None

    def work(worker: Worker) -> None:
        taken: Taken[T] | None = None
        try:
            while not run.stop.is_set():
                if taken is None:
                    with run.lock:
                        if not queue:
                            return
                        taken = Taken(queue.popleft())
                left, taken = run.batch(worker, taken, round_, pending, claim)
                worker.throttled = worker.throttled if left else 0
                if left and run.throttled(worker, left):
                    with run.lock:
                        queue.append(left)
        except Stopped:
            return
        except BaseException as exc:
            failures.append(exc)
            run.stop.set()

    if len(run.workers) == 1:
        work(run.workers[0])
    else:
        threads = [threading.Thread(target=work, args=(w,), daemon=True, name="rollout") for w in run.workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]


def unsettled(exc: errors.TransportError | errors.RemoteCommandError) -> bool:
    """Whether a write pipeline's failure leaves its mailboxes to read again: its answer lost after it was
    sent (a transport error), or the service refused it as throttled (a transient terminating error, which
    `bulk.set_cloud_managed_batch` classifies with the Exchange rules)."""
    if isinstance(exc, errors.TransportError):
        return exc.command_sent
    return isinstance(exc, errors.TransientRemoteError)
