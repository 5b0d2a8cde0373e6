"""The rollout's parallel sessions: several sessions take batches from one queue (`run_round`).

Each worker is a session with its own pace (adapted to its own micro-delay warnings); the journal and
the tallies are shared under the run's lock, so the journal has one writer at a time and each batch's
lines stay together. Batches partition the mailboxes, so no two sessions ever write the same one. A
write pipeline the service refuses as throttled (a transient terminating error: Exchange Online's
answer to more concurrent requests than it allows) is read again, and what it left unswitched goes back
in the queue after its worker's backoff: never counted as a try.

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
from typing import Protocol, TypeVar

from psbridge import errors
from psbridge.exchange.rules import EXO_ERRORS
from psbridge.result import ErrorRecordData
from psbridge.session import Session, classify

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


def open_sessions(factory: Callable[[], Session], count: int, stack: contextlib.ExitStack) -> list[Session]:
    """`count` sessions from `factory`, made at once (each signs in), closed with `stack`."""
    made: list[Session] = []
    with concurrent.futures.ThreadPoolExecutor(max(count, 1)) as pool:
        futures = [pool.submit(factory) for _ in range(count)]
        for future in futures:
            with contextlib.suppress(Exception):
                made.append(stack.enter_context(future.result()))
    if len(made) != count:  # raise the first failure, once the others are closed with the stack
        for future in futures:
            future.result()
    return made


@dataclasses.dataclass
class Worker:
    """One session taking batches: its own pace (adapted to its own micro-delays)."""

    session: Session
    pace_ms: int
    throttled: int = 0  # write pipelines refused in a row


class Stopped(Exception):
    """Raised in a worker once the run was interrupted."""


class Batches(Protocol[T]):
    """What `run_round` drives: the rollout's run."""

    workers: list[Worker]
    lock: threading.RLock
    stop: threading.Event

    def batch(self, worker: Worker, chunk: list[T], round_: int, pending: dict[str, T]) -> list[T]: ...

    def throttled(self, worker: Worker, chunk: list[T]) -> bool: ...


def run_round(run: Batches[T], queue: collections.deque[list[T]], round_: int, pending: dict[str, T]) -> None:
    """Every batch of `queue`, taken in turn by each of the run's workers (one thread per session beyond
    the first); a batch a throttled write left unfinished goes back in the queue after its worker's backoff.
    The first error stops the others after their current batch and is raised here."""
    failures: list[BaseException] = []

    def work(worker: Worker) -> None:
        try:
            while not run.stop.is_set():
                with run.lock:
                    if not queue:
                        return
                    chunk = queue.popleft()
                left = run.batch(worker, chunk, round_, pending)
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
    sent (a transport error), or the service refused it as throttled (a transient terminating error)."""
    if isinstance(exc, errors.TransportError):
        return exc.command_sent
    if isinstance(exc, errors.TransientRemoteError):
        return True
    record = ErrorRecordData(message=exc.message, fully_qualified_error_id=exc.error_id or "", category="",
                             exception_type=getattr(exc, "exception_type", None) or "")  # fmt: skip
    return issubclass(classify(record, EXO_ERRORS), errors.TransientRemoteError)
