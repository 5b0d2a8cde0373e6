"""Serving recorded episodes: first unplayed match wins, nothing is ever served twice."""

from __future__ import annotations

import dataclasses
from typing import Protocol

from psbridge.replay.keys import Key


@dataclasses.dataclass(frozen=True)
class RecordedMessage:
    """One PSRP message as the server sent it: its type name and its raw CLIXML."""

    type: str
    clixml: str


@dataclasses.dataclass
class Episode:
    key: Key
    messages: list[RecordedMessage]
    source: str = ""


@dataclasses.dataclass(frozen=True)
class Miss:
    """Why a command could not be served: never recorded, or every recording of it already played."""

    key: Key
    exhausted: bool
    nearest: tuple[Key, ...]
    sources: str

    @property
    def error_id(self) -> str:
        return "PsbridgeReplayExhausted" if self.exhausted else "PsbridgeReplayMiss"

    def message(self) -> str:
        if self.exhausted:
            text = f"every recorded episode for `{self.key.display()}` in {self.sources} was already played"
        else:
            text = f"no recorded episode for `{self.key.display()}` in {self.sources}"
        if self.nearest:
            closest, *others = self.nearest
            text += f"; nearest recorded: `{closest.display()}` ({self.key.difference(closest)})"
            text += "".join(f" | `{k.display()}`" for k in others)
        return text


class Player(Protocol):
    """What answers the replay server's pipelines: recordings (`EpisodePlayer`), or a host simulated by the
    caller (the tests' `SimulatedHost`) that computes each reply from its own state."""

    def take(self, key: Key) -> Episode | Miss: ...


class EpisodePlayer:
    """Hands out episodes by key, FIFO among equal keys, and remembers what it handed out. An episode
    matching exactly goes before one matching only through a scrubbed value."""

    def __init__(self, episodes: list[Episode], sources: str) -> None:
        self.episodes = episodes
        self.sources = sources
        # Unplayed episodes by their command names, in recorded order: a take only looks at its own.
        self._unplayed: dict[tuple[str, ...], list[Episode]] = {}
        for episode in episodes:
            self._unplayed.setdefault(_names(episode.key), []).append(episode)

    def take(self, key: Key) -> Episode | Miss:
        candidates = self._unplayed.get(_names(key), [])
        for loose in (False, True):
            for index, episode in enumerate(candidates):
                if episode.key.matches(key, loose=loose):
                    del candidates[index]
                    return episode
        exhausted = any(ep.key.matches(key) for ep in self.episodes)
        # Keys are deduplicated by their text: parameter values may be dicts or lists (unhashable).
        unique = {ep.key.display(): ep.key for ep in self.episodes}
        nearest = sorted(unique.values(), key=key.distance)[:3]
        return Miss(key, exhausted=exhausted, nearest=tuple(nearest), sources=self.sources)

    @property
    def unplayed(self) -> list[Episode]:
        left = {id(ep) for eps in self._unplayed.values() for ep in eps}
        return [ep for ep in self.episodes if id(ep) in left]


def _names(key: Key) -> tuple[str, ...]:
    return tuple(s.command.lower() for s in key.statements)
