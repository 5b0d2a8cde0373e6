"""The config file: named targets, each with its own connection options.

    # ~/.config/psbridge/config.toml (on Windows %APPDATA%\\psbridge\\config.toml)
    [defaults]                      # optional: what every target inherits
    username = "CONTOSO\\\\svc-psbridge"
    password_env = "PSBRIDGE_PASSWORD"

    [targets.connect]               # the name is the role unless the target says role = "..."
    host = "connect01.contoso.com"

    [targets.exo]                   # the Exchange Online jump host and its app-only sign-in
    host = "jump01.contoso.com"
    organization = "contoso.onmicrosoft.com"
    app_id = "..."
    certificate_thumbprint = "..."

    [targets.exo-rest]              # or: Exchange Online over REST, no jump host (docs/exchange-rest.md)
    role = "exo"
    via = "rest"                    # signs in with [graph]'s app; host defaults to outlook.office365.com
    organization = "contoso.onmicrosoft.com"

    [graph]                         # Microsoft Graph app-only (Cloud Sync --via graph, tenant facts)
    tenant_id = "..."
    client_id = "..."
    certificate = "app.pfx"         # or a client secret in $PSBRIDGE_GRAPH_CLIENT_SECRET

    [cloudsync]
    via = "graph"                   # the default backend of `psbridge cloudsync` (else psrp)

The file is found at `--config PATH`, else `$PSBRIDGE_CONFIG`, else the per-user location above
(`$XDG_CONFIG_HOME/psbridge/config.toml` when XDG_CONFIG_HOME is set). A missing default file means no
targets; a file that was named and is missing is an error. Passwords are never in the file: a target
names the environment variable that holds its password (`password_env`, PSBRIDGE_PASSWORD by default),
or the password is asked for at a terminal. A target's settings are its own keys, then `[defaults]`,
then those of `ConnectionOptions`; an `exchange` target reached on the server's own endpoint has that
endpoint's (`http://<host>/PowerShell`, `Microsoft.Exchange`, Kerberos; `tls = true` for 443) unless it
sets them itself: `[defaults]` does not change them.
"""

from __future__ import annotations

import dataclasses
import difflib
import getpass
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from psbridge import safeio
from psbridge.errors import InputError
from psbridge.options import PASSWORD_ENV, Auth, ConnectionOptions

M = TypeVar("M", bound=BaseModel)
Role = Literal["connect", "cloudsync-agent", "exo", "exchange", "dc"]
ROLES: tuple[str, ...] = get_args(Role)
CONFIG_ENV = "PSBRIDGE_CONFIG"
PASSWORD_AUTHS = ("negotiate", "ntlm", "kerberos", "credssp", "basic")
# A host for each role, shown in the "add this target" hint.
ROLE_HOSTS = {
    "connect": "connect01.contoso.com",
    "cloudsync-agent": "agent01.contoso.com",
    "exo": "jump01.contoso.com",
    "exchange": "ex01.contoso.com",
    "dc": "dc01.contoso.com",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_MAX_CONFIG_BYTES = 1024 * 1024  # a config for hundreds of targets is tens of kilobytes
EXO_REST_HOST = "outlook.office365.com"  # psbridge.exchange.rest.wire.DEFAULT_HOST, spelled here
_EXO_KEYS = ("organization", "app_id", "certificate_thumbprint", "managed_identity", "managed_identity_account_id")
_PATH_KEYS = ("ca_file", "certificate_pem", "certificate_key_pem")
# What an Exchange server's own endpoint fixes (exchange_server_options), which [defaults] does not change.
_ENDPOINT_KEYS = ("tls", "port", "path", "auth", "configuration_name")


class ConfigError(InputError):
    """The config file is missing (when named), not TOML, or holds a setting psbridge refuses."""


class TargetMissingError(InputError):
    """A command or runbook needs a target the config file does not declare."""


class TargetSettings(BaseModel):
    """Connection keys a target or `[defaults]` may set; each left out takes the next default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    port: int | None = Field(default=None, ge=1, le=65535)
    auth: Auth | None = None
    username: str | None = None
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    tls: bool | None = None
    ca_file: str | None = None
    cert_validation: bool | None = None
    encryption: Literal["auto", "always", "never"] | None = None
    configuration_name: str | None = None
    path: str | None = None
    operation_timeout: int | None = Field(default=None, ge=1)
    read_timeout: int | None = Field(default=None, ge=2)
    connection_timeout: int | None = Field(default=None, ge=1)
    certificate_pem: str | None = None
    certificate_key_pem: str | None = None
    negotiate_service: str | None = None
    negotiate_hostname_override: str | None = None
    insecure_cleartext_basic: bool | None = None  # basic auth over plain HTTP to a host that is not loopback
    timeout: float | None = Field(default=None, gt=0, description="deadline of each call, seconds")

    @model_validator(mode="after")
    def _check_validation(self) -> TargetSettings:
        if self.ca_file and self.cert_validation is False:
            raise ValueError("ca_file and cert_validation = false contradict each other")
        return self


# The TargetSettings keys that are ConnectionOptions fields of the same name.
_OPTION_KEYS = tuple(k for k in TargetSettings.model_fields if k in ConnectionOptions.model_fields)


class Target(TargetSettings):
    """One named target: a role, a host, and how to reach it."""

    name: str
    role: Role
    host: str = Field(min_length=1)
    # exo: app-only sign-in to Exchange Online on the jump host (certificate or managed identity)
    organization: str | None = None
    app_id: str | None = None
    certificate_thumbprint: str | None = None
    managed_identity: bool = False
    managed_identity_account_id: str | None = None
    # exchange: reach the server through this jump-host target instead of its own endpoint;
    # exo: "psrp" (a jump host, the default) or "rest" (Exchange Online's REST endpoint, no jump host)
    via: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _rest_host(cls, data: Any) -> Any:
        """An exo target over REST has no jump host: its host is the REST endpoint's, Exchange Online's by default."""
        if (
            isinstance(data, Mapping)
            and data.get("role") == "exo"
            and data.get("via") == "rest"
            and not data.get("host")
        ):
            return {**data, "host": EXO_REST_HOST}
        return data

    @model_validator(mode="after")
    def _check_role_keys(self) -> Target:
        given = [k for k in _EXO_KEYS if getattr(self, k)]
        if given and self.role != "exo":
            raise ValueError(f"{', '.join(given)}: only a target with role exo signs in to Exchange Online")
        if self.via is not None and self.role not in ("exchange", "exo"):
            raise ValueError("via: only a target with role exchange (its jump host) or exo (psrp or rest) has one")
        if self.role == "exo" and self.via not in (None, "psrp", "rest"):
            raise ValueError(f'via: an exo target is reached by "psrp" (a jump host) or "rest", not {self.via!r}')
        jump_host_keys = [k for k in _EXO_KEYS if k != "organization" and getattr(self, k)]
        if self.via == "rest" and jump_host_keys:
            raise ValueError(
                f'{", ".join(jump_host_keys)}: sign a jump host in; an exo target with via = "rest" signs in with '
                "the [graph] table's app (or PSBRIDGE_GRAPH_*)"
            )
        return self

    @property
    def declares_sign_in(self) -> bool:
        """Whether the target sets any Exchange Online sign-in key (psbridge.targets reads them)."""
        return any(getattr(self, k) for k in _EXO_KEYS)

    def connection_values(self) -> dict[str, Any]:
        """The ConnectionOptions fields this target sets itself, without a password (psbridge.targets adds
        its role's defaults)."""
        values: dict[str, Any] = {k: getattr(self, k) for k in _OPTION_KEYS if getattr(self, k) is not None}
        if self.ca_file:
            values["cert_validation"] = self.ca_file
        elif self.cert_validation is not None:
            values["cert_validation"] = self.cert_validation
        for key in _PATH_KEYS:
            file = getattr(self, key)
            if file and not Path(file).is_file():
                raise ConfigError(f"target {self.name!r}: {key} {file} is not a file")
        return values

    @property
    def password_variable(self) -> str:
        return self.password_env or PASSWORD_ENV


CLOUDSYNC_VIA_ENV = "PSBRIDGE_CLOUDSYNC_VIA"  # the Cloud Sync backend, before the config file's [cloudsync] via


def cloudsync_via_from_env() -> Literal["psrp", "graph"] | None:
    """The Cloud Sync backend PSBRIDGE_CLOUDSYNC_VIA names (None: unset or empty); InputError for another value."""
    configured = os.environ.get(CLOUDSYNC_VIA_ENV, "").strip().lower()
    if not configured:
        return None
    if configured not in ("psrp", "graph"):
        raise InputError(f"{CLOUDSYNC_VIA_ENV} must be psrp or graph, not {configured!r}")
    return "graph" if configured == "graph" else "psrp"


@dataclasses.dataclass(frozen=True)
class Config:
    """A loaded config file. `source` says how it was found: "--config", PSBRIDGE_CONFIG or "default"."""

    path: Path
    source: str
    exists: bool
    targets: Mapping[str, Target] = dataclasses.field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    graph: Mapping[str, str] = dataclasses.field(default_factory=dict)  # GraphCredentials fields
    cloudsync_via: Literal["psrp", "graph"] | None = None

    def find(self, role_or_name: str) -> Target | None:
        """The target of that name, else the one target of that role; None when there is none."""
        if role_or_name in self.targets:
            return self.targets[role_or_name]
        having = [t for t in self.targets.values() if t.role == role_or_name]
        if len(having) > 1:
            names = ", ".join(t.name for t in having)
            raise ConfigError(f"{self.path}: several targets have role {role_or_name!r} ({names}): name one of them")
        return having[0] if having else None

    def target(self, role_or_name: str) -> Target:
        """Like `find`, but a missing target is a TargetMissingError saying what to add, and where."""
        found = self.find(role_or_name)
        if found is not None:
            return found
        if role_or_name not in ROLES:
            known = ", ".join(self.targets) or "none"
            raise TargetMissingError(f"no target named {role_or_name!r} in {self.path} (its targets: {known})")
        where = f"in {self.path}" if self.exists else f"({self.path} does not exist)"
        example = f'[targets.{role_or_name}] with host = "{ROLE_HOSTS[role_or_name]}"'
        raise TargetMissingError(f"no target for role {role_or_name!r} {where}: add {example}")


def default_path() -> Path:
    """The per-user config file: %APPDATA% on Windows, else $XDG_CONFIG_HOME or ~/.config."""
    if os.name == "nt":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME", "")
        base = xdg if os.path.isabs(xdg) else str(Path.home() / ".config")  # a relative value is ignored (XDG)
    return Path(base) / "psbridge" / "config.toml"


def locate(path: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """Which file to read, and why: `path`, else $PSBRIDGE_CONFIG, else the per-user location."""
    if path is not None:
        return Path(path).expanduser(), "--config"
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser(), CONFIG_ENV
    return default_path(), "default"


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file (see the module docstring for where it is looked for).

    Raises:
        ConfigError: a named file is missing, the file is not TOML, or a key is unknown, invalid or a password.
    """
    where, source = locate(path)
    if not where.exists():
        if source != "default":
            raise ConfigError(f"config file {where} does not exist (from {source})")
        return Config(where, source, exists=False)
    try:
        text = safeio.read_text(where, "config file", max_bytes=_MAX_CONFIG_BYTES)
    except InputError as exc:  # not a regular file (a FIFO would block, /dev/zero never ends), too big, not UTF-8
        raise ConfigError(str(exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    targets = _targets(where, data)
    graph = _table(where, data, "graph", "[graph]")
    if "client_secret" in graph:
        raise ConfigError(
            f"{where}: [graph]: secrets are never stored in the config file; name the environment variable that "
            'holds it with client_secret_env = "VAR" (PSBRIDGE_GRAPH_CLIENT_SECRET by default)'
        )
    _validate(where, "[graph]", _GraphSettings, graph)
    if "certificate" in graph:  # relative to the file, like every other path in it
        graph = {**graph, "certificate": str((where.parent / str(graph["certificate"])).expanduser())}
    cloudsync = _validate(where, "[cloudsync]", _CloudSyncSettings, _table(where, data, "cloudsync", "[cloudsync]"))
    return Config(
        where, source, exists=True, targets=targets, warnings=_permission_warnings(where),
        graph={k: str(v) for k, v in graph.items()}, cloudsync_via=cloudsync.via,
    )  # fmt: skip


class _GraphSettings(BaseModel):
    """[graph]: the app-only credentials of `psbridge.graph.auth.GraphCredentials` (never a secret)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str | None = None
    client_id: str | None = None
    certificate: str | None = None
    certificate_password_env: str | None = None
    client_secret_env: str | None = None
    graph_url: str | None = None
    authority_host: str | None = None


class _CloudSyncSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    via: Literal["psrp", "graph"] | None = None


def _targets(where: Path, data: Mapping[str, Any]) -> dict[str, Target]:
    unknown = sorted(set(data) - {"defaults", "targets", "graph", "cloudsync"})
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (the file holds [defaults], [targets.NAME], [graph] and "
            "[cloudsync] tables)"
        )
    defaults = _table(where, data, "defaults", "[defaults]")
    tables = _table(where, data, "targets", "[targets]")
    _refuse_password(where, "[defaults]", defaults)
    _validate(where, "[defaults]", TargetSettings, defaults)
    targets: dict[str, Target] = {}
    for name, raw in tables.items():
        label = f"target {name!r}"
        if not _NAME.match(name):
            raise ConfigError(f"{where}: {label}: a name is letters, digits, '-' and '_'")
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: {label} is not a table: write [targets.{name}]")
        _refuse_password(where, label, raw)
        role = raw.get("role", name)
        inherited = {k: v for k, v in defaults.items() if not _own_endpoint(role, raw) or k not in _ENDPOINT_KEYS}
        values = {**inherited, **raw, "name": name, "role": role}
        if role not in ROLES:
            hint = f"not {role!r}" if "role" in raw else "its name is not a role"
            raise ConfigError(f'{where}: {label}: needs role = "..." (one of {", ".join(ROLES)}): {hint}')
        for key in _PATH_KEYS:
            if isinstance(values.get(key), str):  # relative to the config file, like ssh's IdentityFile
                values[key] = str((where.parent / Path(values[key]).expanduser()).resolve())
        targets[name] = _validate(where, label, Target, values)
    for target in targets.values():
        if target.via is not None and target.role == "exchange":
            via = targets.get(target.via) or next((t for t in targets.values() if t.role == target.via), None)
            if via is None or via.via is not None:
                raise ConfigError(f"{where}: target {target.name!r}: via names no jump-host target: {target.via!r}")
    return targets


def _own_endpoint(role: object, raw: Mapping[str, Any]) -> bool:
    """An Exchange server reached on its own endpoint, not through a jump host."""
    return role == "exchange" and raw.get("via") is None


def _table(where: Path, data: Mapping[str, Any], key: str, label: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {label} must be a table")
    return dict(value)


def _refuse_password(where: Path, label: str, raw: Mapping[str, Any]) -> None:
    if "password" in raw:
        raise ConfigError(
            f"{where}: {label}: passwords are never stored in the config file; name the environment variable "
            'that holds it with password_env = "VAR" (or leave it out and be asked at a terminal)'
        )


def _validate(where: Path, label: str, model: type[M], values: Mapping[str, Any]) -> M:
    """Validate, turning pydantic's report into one line naming the file, the table and the key."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"])
            if error["type"] == "extra_forbidden":
                close = difflib.get_close_matches(key, model.model_fields, n=1)
                problems.append(f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            elif error["type"] == "missing":
                problems.append(f"missing key {key!r}")
            else:
                message = error["msg"].removeprefix("Value error, ")
                problems.append(f"{key}: {message}" if key else message)
        raise ConfigError(f"{where}: {label}: {'; '.join(problems)}") from None


def _permission_warnings(where: Path) -> tuple[str, ...]:
    """A file others may read or change: they could point psbridge (and your password) at their host."""
    if os.name != "posix":
        return ()
    mode = stat.S_IMODE(where.stat().st_mode)
    if not mode & 0o077:
        return ()
    return (f"{where} can be read or changed by other users (mode {mode:04o}): run chmod 600 {where}",)


# What the CLI says of a missing password: where else it may come from (nowhere).
NOT_A_FLAG_HINT = "passwords are never taken as a flag nor stored in the config file"


def needs_password(values: Mapping[str, Any]) -> bool:
    """Whether ConnectionOptions `values` sign in with a user name and a password."""
    return bool(values.get("username")) and values.get("auth", "negotiate") in PASSWORD_AUTHS


def resolve_password(variable: str | None, *, who: str, prompt: bool, hint: str = NOT_A_FLAG_HINT) -> SecretStr:
    """The password from the environment variable `variable` (PSBRIDGE_PASSWORD if None), else a prompt;
    from then on every log line and error line of the process redacts it (`psbridge.logs.protect`). Without
    either, InputError: `no password for WHO: set VARIABLE (HINT)`."""
    from psbridge import logs

    name = variable or PASSWORD_ENV
    value = os.environ.get(name)
    if not value and not prompt:
        raise InputError(f"no password for {who}: set {name} ({hint})")
    value = value or getpass.getpass(f"Password for {who}: ")
    logs.protect([value])  # every log line and error line of this process redacts it from now on
    return SecretStr(value)
