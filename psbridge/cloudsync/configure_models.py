"""Results of the Graph-side migration steps (`psbridge.cloudsync.configure`): a configuration, its OU
scope, its attribute mappings, and a started job watched to steady state.

Shapes follow the Graph synchronization resources (docs/cloudsync.md, "Migration steps over Graph"):
https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationrule (containerFilter,
objectMappings), https://learn.microsoft.com/graph/api/resources/synchronization-objectmapping and
https://learn.microsoft.com/graph/api/resources/synchronization-attributemapping (its `source`, an
https://learn.microsoft.com/graph/api/resources/synchronization-attributemappingsource).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, computed_field

from psbridge.cloudsync.models import JobStatus
from psbridge.models import Change, PSModel

PROVISIONING_TEMPLATE = "AD2AADProvisioning"
PASSWORD_HASH_TEMPLATE = "AD2AADPasswordHash"  # noqa: S105 - a job template name, not a password


class CloudSyncConfiguration(PSModel):
    """One Cloud Sync configuration (one service principal per AD domain) as the migration needs it.

    `service_principal_id` is None while it does not exist (a dry run's predicted state shows "<new>").
    `app_key_scenario` and `domain_secret` are the `AppKey` and `Domain` secrets' values, parsed; the
    other secret keys are neither shown nor changed. `other_secret_keys` names them.
    """

    domain: str
    service_principal_id: str | None = None
    app_id: str | None = None
    display_name: str | None = None
    job_ids: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    app_key_scenario: str | None = None
    domain_secret: str | None = None
    other_secret_keys: tuple[str, ...] = ()

    @property
    def password_hash(self) -> bool:
        """Whether the configuration syncs password hashes: the job and the AppKey scenario say so."""
        return PASSWORD_HASH_TEMPLATE in self.templates and self.app_key_scenario == PASSWORD_HASH_TEMPLATE


class ConfigurationChange(Change[CloudSyncConfiguration]):
    """create_configuration: the configuration before and after (read back), and each request sent or,
    in a dry run, that would be sent (`requests`)."""

    domain: str
    requests: tuple[str, ...] = ()
    note: str | None = None


class OuScope(PSModel):
    """The OUs a job's AD-to-Entra rule synchronizes (`containerFilter.includedContainers`); none: every OU."""

    job_id: str
    rule_id: str
    ous: tuple[str, ...] = ()


class OuScopeChange(Change[OuScope]):
    """set_ou_scope: the OU lists before and after, what was added and removed, and the rule's
    `containerFilter` that was (or in a dry run would be) written in the whole schema's PUT."""

    job_id: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    container_filter: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None


class AttributeMapping(PSModel):
    """One attribute flow of an object mapping: the target attribute and where its value comes from."""

    target_attribute_name: str = Field(alias="targetAttributeName")
    source_type: str | None = None  # Attribute, Constant or Function
    source: str | None = None  # the expression (or attribute name)
    flow_type: str | None = Field(default=None, alias="flowType")
    flow_behavior: str | None = Field(default=None, alias="flowBehavior")
    matching_priority: int | None = Field(default=None, alias="matchingPriority")
    default_value: str | None = Field(default=None, alias="defaultValue")

    @classmethod
    def from_graph(cls, mapping: Mapping[str, Any]) -> AttributeMapping:
        source = mapping.get("source") or {}
        return cls.model_validate({
            **mapping,
            "source_type": source.get("type"),
            "source": source.get("expression") or source.get("name"),
        })  # fmt: skip


class ObjectMapping(PSModel):
    """One object mapping of the rule (e.g. user to User) and its attribute mappings."""

    name: str | None = None
    source_object_name: str | None = Field(default=None, alias="sourceObjectName")
    target_object_name: str | None = Field(default=None, alias="targetObjectName")
    enabled: bool | None = None
    flow_types: str | None = Field(default=None, alias="flowTypes")
    attribute_mappings: tuple[AttributeMapping, ...] = ()

    @classmethod
    def from_graph(cls, mapping: Mapping[str, Any]) -> ObjectMapping:
        attributes = tuple(AttributeMapping.from_graph(a) for a in mapping.get("attributeMappings") or ())
        return cls.model_validate({**mapping, "attribute_mappings": attributes})


class AttributeMappings(PSModel):
    """The AD-to-Entra rule's object mappings and attribute mappings, read from the job's schema."""

    job_id: str
    rule_id: str
    object_mappings: tuple[ObjectMapping, ...] = ()


class MappedAttributes(PSModel):
    """The attribute mappings a change names, of one object mapping of the AD-to-Entra rule (`object_type`:
    its sourceObjectName, e.g. user). A target that has no mapping is absent."""

    job_id: str
    rule_id: str
    object_type: str
    mappings: tuple[AttributeMapping, ...] = ()

    def source_of(self, target: str) -> str | None:
        """The source expression of `target` (attribute names compared case-insensitively); None: not mapped."""
        found = (m for m in self.mappings if m.target_attribute_name.casefold() == target.casefold())
        return next((m.source for m in found), None)


class AttributeMappingChange(Change[MappedAttributes]):
    """set_attribute_mappings: the named targets' mappings before and after, which were `added` (no mapping
    before) and `modified` (another source before), each as a diff line (`lines`). `targets` is every
    target asked for, in order, `unchanged` among them too."""

    job_id: str
    targets: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    note: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def lines(self) -> tuple[str, ...]:
        """`target: before -> after` for each target added or modified (`-`: no mapping), in order."""
        moved = {t.casefold() for t in (*self.added, *self.modified)}
        return tuple(
            f"{t}: {self.before.source_of(t) or '-'} -> {self.after.source_of(t) or '-'}"
            for t in self.targets
            if t.casefold() in moved
        )


WatchOutcome = Literal["steady", "quarantine", "deadline", "dry_run"]


class StartWatch(Change[JobStatus]):
    """start_and_watch: whether the start was sent, how the watch ended, and the counts of the last run.

    `outcome`: steady (Active, not quarantined, and a successful run or steady state since the start),
    quarantine (the watch stopped: `reason` says why), deadline (neither before `deadline_s`), or
    dry_run. `counts` are the last run's counters (imported, exported, escrowed, ...) and the
    synchronized objects by type.
    """

    job_id: str
    outcome: WatchOutcome
    reason: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    reads: int = 0
    elapsed_s: float = 0.0
    unanswered: int = 0  # status reads that failed in transit during the watch (the watch went on)
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("steady", "dry_run")
