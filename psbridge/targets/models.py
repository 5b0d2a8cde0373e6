"""What a reachability probe and `psbridge config check` report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Reachability(BaseModel):
    """A host ran a command: how long the round trip took (with opening the session, on first use)."""

    model_config = ConfigDict(frozen=True)

    target: str
    elapsed_ms: float


class TargetCheck(BaseModel):
    """One target's check: `error` is the one-line reason it failed; `unreachable` when it could not be
    reached at all (connection, authentication, TLS or timeout)."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: str
    host: str
    status: Literal["pass", "fail"]
    elapsed_ms: float
    error: str | None = None
    error_type: str | None = None
    unreachable: bool = False


class TargetsCheck(BaseModel):
    """Every target checked, in the config file's order."""

    model_config = ConfigDict(frozen=True)

    config: str
    targets: tuple[TargetCheck, ...]

    @property
    def passed(self) -> bool:
        return all(t.status == "pass" for t in self.targets)

    @property
    def none_reachable(self) -> bool:
        return bool(self.targets) and all(t.unreachable for t in self.targets)


class TargetSummary(BaseModel):
    """What the config says about one target, as `psbridge config show` prints it. Never a password:
    `password` names the variable it comes from and whether that is set."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: str
    host: str
    endpoint: str | None
    auth: str | None
    username: str | None
    password: str | None
    sign_in: str | None = None
    via: str | None = None
    error: str | None = None
