"""The Graph side of the Connect Sync to Cloud Sync migration, one step a function (issue 17).

Each step reads first, takes `dry_run` (nothing is written; the result is the predicted after-state),
sends nothing when the target already matches (so a second call changes nothing), and reads its work
back. Sources (docs/cloudsync.md, "Migration steps over Graph"):
- the configuration: https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph
  (instantiate the "Active Directory to Azure Active Directory Provisioning" template, create the jobs, write
  the AppKey and Domain secrets), https://learn.microsoft.com/graph/api/applicationtemplate-instantiate,
  https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-post and
  https://learn.microsoft.com/graph/api/synchronization-serviceprincipal-put-synchronization (a PUT replaces
  every secret; there is no PATCH);
- the OU scope: the rule's `containerFilter.includedContainers`
  (https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationrule,
  https://learn.microsoft.com/graph/api/resources/containerfilter), written with the whole schema
  (https://learn.microsoft.com/graph/api/synchronization-synchronizationschema-update);
- the attribute mappings: the rule's objectMappings and their attributeMappings
  (https://learn.microsoft.com/graph/api/resources/synchronization-attributemapping, whose `source` is an
  https://learn.microsoft.com/graph/api/resources/synchronization-attributemappingsource), each expression
  parsed by https://learn.microsoft.com/graph/api/synchronization-synchronizationschema-parseexpression
  (the syntax: https://learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data),
  written with the whole schema as the OU scope is;
- start and watch: https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start and the
  status fields of https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationstatus.

Application permissions, least privileged first: `Application.ReadWrite.OwnedBy` (or
`Application.ReadWrite.All`) to instantiate the template (the instantiate page's table);
`Synchronization.ReadWrite.All` (or `Application.ReadWrite.OwnedBy`) for jobs, schema and secrets.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from psbridge.cloudsync._graph_common import (
    CLOUD_SYNC_TEMPLATE,
    compact_json,
    job_path,
    locate_job,
    read_secrets,
    read_status,
    secrets_path,
)
from psbridge.cloudsync.changes import predicted_status
from psbridge.cloudsync.configure_models import (
    PASSWORD_HASH_TEMPLATE,
    PROVISIONING_TEMPLATE,
    AttributeMapping,
    AttributeMappingChange,
    AttributeMappings,
    CloudSyncConfiguration,
    ConfigurationChange,
    MappedAttributes,
    ObjectMapping,
    OuScope,
    OuScopeChange,
    StartWatch,
    WatchOutcome,
)
from psbridge.cloudsync.graph import ad_to_entra_rule, check_distinguished_name
from psbridge.cloudsync.jobs import SENT_WHEN
from psbridge.cloudsync.models import JobStatus, ServicePrincipal, of_template, same
from psbridge.errors import (
    GraphError,
    GraphNotFoundError,
    InputError,
    OperationTimeoutError,
    TransportError,
    UnexpectedOutputError,
)
from psbridge.graph.client import GraphClient, segment
from psbridge.wait import Clock, Done, Sleep, poll

APP_KEY = "AppKey"
DOMAIN_KEY = "Domain"
NEW = "<new>"  # a dry run's service principal that does not exist yet
_DOMAIN = re.compile(r"(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_SP_SELECT = {"$select": "id,appId,displayName,applicationTemplateId,accountEnabled"}


# -- 1. the configuration ----------------------------------------------------------------------------


def create_configuration(
    client: GraphClient,
    *,
    domain: str,
    password_hash: bool,
    dry_run: bool = False,
    deadline_s: float = 300.0,
    poll_s: float = 10.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> ConfigurationChange:
    """Create (or complete) the Cloud Sync configuration of one AD domain, as the portal's "New configuration".

    Finds the configuration first (its `Domain` secret, else a service principal named after the domain);
    otherwise instantiates the Cloud Sync application template (POST /beta/applicationTemplates/{id}/instantiate,
    displayName = domain) and waits, up to `deadline_s`, for its service principal to be readable. Then creates
    the jobs missing (`AD2AADProvisioning`, and `AD2AADPasswordHash` with `password_hash`; Graph creates them
    Paused, schedule Disabled: they are not started here) and writes the `AppKey` and `Domain` secrets by
    read-merge-write (GET, then PUT of every key; the other keys unchanged). Reads the result back.
    """
    domain = _check_domain(domain)
    wanted = (PROVISIONING_TEMPLATE, PASSWORD_HASH_TEMPLATE) if password_hash else (PROVISIONING_TEMPLATE,)
    sp = _find_configuration(client, domain)
    before, pairs = _configuration(client, domain, sp) if sp else (CloudSyncConfiguration(domain=domain), [])
    sent: list[str] = []
    if sp is None:
        sent.append(f"POST /beta/applicationTemplates/{CLOUD_SYNC_TEMPLATE}/instantiate displayName={domain}")
        if not dry_run:
            sp = _instantiate(client, domain, deadline_s, poll_s, clock, sleep)
            pairs = read_secrets(client, sp.id)
    missing = [t for t in wanted if t not in before.templates]
    sent += [f"POST .../synchronization/jobs templateId={t}" for t in missing]
    merged = merge_secrets(pairs, desired_secrets(domain, password_hash))
    if merged != pairs:
        sent.append(f"PUT .../synchronization/secrets keys={','.join(str(p.get('key')) for p in merged)}")
    if not sent:
        return ConfigurationChange(domain=domain, changed=False, dry_run=dry_run, before=before, after=before)
    if dry_run:
        after = _predicted(before, domain, missing, merged)
        return ConfigurationChange(domain=domain, changed=bool(sent), dry_run=True, before=before, after=after,
                                   requests=tuple(sent), note="dry run: nothing was sent")  # fmt: skip
    assert sp is not None  # instantiated above when it was missing
    for template in missing:
        client.post(f"/servicePrincipals/{segment(sp.id)}/synchronization/jobs", {"templateId": template})
    if merged != pairs:
        client.put(secrets_path(sp.id), {"value": merged})
    after, _ = _configuration(client, domain, sp)
    _verify_configuration(client, after, wanted, merged)
    return ConfigurationChange(domain=domain, changed=bool(sent), before=before, after=after, requests=tuple(sent))


def desired_secrets(domain: str, password_hash: bool) -> dict[str, str]:
    """The AppKey and Domain secrets of a configuration (docs/cloudsync.md, "Other Cloud Sync secret keys")."""
    scenario = PASSWORD_HASH_TEMPLATE if password_hash else PROVISIONING_TEMPLATE
    return {APP_KEY: compact_json({"appKeyScenario": scenario}), DOMAIN_KEY: compact_json({"domain": domain})}


def merge_secrets(pairs: Sequence[Mapping[str, Any]], wanted: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every secret pair, in order, with the `wanted` keys set (added at the end when missing).

    A value that already holds the same JSON (whatever its spacing) is kept as it is, so an unchanged
    configuration compares equal and nothing is sent.
    """
    merged, seen = [], set()
    for pair in pairs:
        key = pair.get("key")
        if key in wanted:
            seen.add(key)
            if _json(pair.get("value")) != _json(wanted[str(key)]):
                pair = {**pair, "value": wanted[str(key)]}
        merged.append(dict(pair))
    merged += [{"key": k, "value": v} for k, v in wanted.items() if k not in seen]
    return merged


def get_configuration(client: GraphClient, *, domain: str) -> CloudSyncConfiguration | None:
    """The Cloud Sync configuration of one AD domain as it stands (found as `create_configuration` finds
    it), or None when the domain has none. Reads only."""
    domain = _check_domain(domain)
    sp = _find_configuration(client, domain)
    return None if sp is None else _configuration(client, domain, sp)[0]


def _find_configuration(client: GraphClient, domain: str) -> ServicePrincipal | None:
    """The Cloud Sync service principal of `domain`: its Domain secret names the domain, or (a configuration
    created but not finished) it has no Domain secret and the domain as its display name."""
    query = {"$filter": f"applicationTemplateId eq '{CLOUD_SYNC_TEMPLATE}'", **_SP_SELECT}
    found = [ServicePrincipal.model_validate(i) for i in client.get_all("/servicePrincipals", params=query)]
    found.sort(key=lambda sp: not same(sp.display_name, domain))  # the likely one first
    for sp in found:
        named = _secret_json(read_secrets(client, sp.id), DOMAIN_KEY).get("domain")
        if same(named, domain) or (named is None and same(sp.display_name, domain)):
            return sp
    return None


def _instantiate(
    client: GraphClient, domain: str, deadline_s: float, poll_s: float, clock: Clock, sleep: Sleep
) -> ServicePrincipal:
    answer = client.post(f"/applicationTemplates/{CLOUD_SYNC_TEMPLATE}/instantiate", {"displayName": domain},
                         api="beta")  # fmt: skip
    made = (answer or {}).get("servicePrincipal") or {}
    if not made.get("id"):
        raise UnexpectedOutputError("instantiate returned no servicePrincipal id", raw=answer, target=client.target)
    sp_id = str(made["id"])

    def read() -> dict[str, Any] | None:
        try:
            return client.get(f"/servicePrincipals/{segment(sp_id)}", params=_SP_SELECT)
        except GraphNotFoundError:  # replication: a new object is not readable everywhere at once
            return None

    waited = poll(read, lambda v: v is not None, deadline_s=deadline_s, poll_s=poll_s, clock=clock, sleep=sleep)
    if not isinstance(waited, Done) or waited.value is None:
        raise OperationTimeoutError(
            f"the service principal {sp_id} of {domain} was not readable within {deadline_s:g} s: run again",
            deadline_s=deadline_s, target=client.target,
        )  # fmt: skip
    return ServicePrincipal.model_validate(waited.value)


def _configuration(
    client: GraphClient, domain: str, sp: ServicePrincipal
) -> tuple[CloudSyncConfiguration, list[dict[str, Any]]]:
    """The configuration read now (its jobs and secrets), and its secret pairs as read."""
    jobs = [str(j["id"]) for j in client.get_all(f"/servicePrincipals/{segment(sp.id)}/synchronization/jobs")]
    pairs = read_secrets(client, sp.id)
    return _from_parts(domain, sp.id, sp.app_id, sp.display_name, jobs, pairs), pairs


def _from_parts(
    domain: str, sp: str | None, app: str | None, name: str | None, jobs: Sequence[str], pairs: Sequence[Any]
) -> CloudSyncConfiguration:
    known = (PROVISIONING_TEMPLATE, PASSWORD_HASH_TEMPLATE)
    templates = [t for t in known if any(of_template(j, t) for j in jobs)]
    return CloudSyncConfiguration(
        domain=domain, service_principal_id=sp, app_id=app, display_name=name, job_ids=tuple(jobs),
        templates=tuple(templates),
        app_key_scenario=_secret_json(pairs, APP_KEY).get("appKeyScenario"),
        domain_secret=_secret_json(pairs, DOMAIN_KEY).get("domain"),
        other_secret_keys=tuple(str(p.get("key")) for p in pairs if p.get("key") not in (APP_KEY, DOMAIN_KEY)),
    )  # fmt: skip


def _predicted(
    before: CloudSyncConfiguration, domain: str, missing: Sequence[str], merged: Sequence[Any]
) -> CloudSyncConfiguration:
    jobs = [*before.job_ids, *(f"{t}.{NEW}" for t in missing)]
    sp = before.service_principal_id or NEW
    return _from_parts(domain, sp, before.app_id, before.display_name or domain, jobs, merged)


def _verify_configuration(
    client: GraphClient, after: CloudSyncConfiguration, wanted: Sequence[str], merged: Sequence[Mapping[str, Any]]
) -> None:
    """Raise unless the configuration read back has every wanted job and the AppKey and Domain written."""
    problems = [f"the {t} job" for t in wanted if t not in after.templates]
    if after.app_key_scenario != _secret_json(merged, APP_KEY).get("appKeyScenario"):
        problems.append("the AppKey secret written")
    if after.domain_secret != _secret_json(merged, DOMAIN_KEY).get("domain"):
        problems.append("the Domain secret written")
    if problems:
        raise UnexpectedOutputError(
            f"the configuration of {after.domain} read back without {', '.join(problems)}", target=client.target
        )


# -- 2. the OU scope ---------------------------------------------------------------------------------


def set_ou_scope(client: GraphClient, *, job_id: str, ous: Sequence[str], dry_run: bool = False) -> OuScopeChange:
    """Scope a job's AD-to-Entra rule to exactly these OUs: its `containerFilter.includedContainers`.

    Each DN is checked (`check_distinguished_name`) before anything is read. The schema is read, only the
    rule's container filter changes, and the whole schema goes back (PUT .../schema replaces it all), then
    is read back. Sends nothing when the rule already holds these OUs (compared case-insensitively), or in
    a dry run. Refuses a rule with a group filter: Graph documents containerFilter and groupFilter as
    mutually exclusive.
    """
    wanted = _unique([check_distinguished_name(ou) for ou in ous])
    if not wanted:
        raise InputError("give at least one OU to scope the job to")
    sp, _ = locate_job(client, job_id)
    path = f"{job_path(sp, job_id)}/schema"
    schema = client.get(path)
    rule = _rule(schema)
    current = tuple(str(c) for c in (rule.get("containerFilter") or {}).get("includedContainers") or ())
    before = OuScope(job_id=job_id, rule_id=str(rule["id"]), ous=current)
    filt = {**(rule.get("containerFilter") or {}), "includedContainers": list(wanted)}
    change = _ou_diff(before, wanted, filt, dry_run)
    if change.would_change and (rule.get("groupFilter") or {}).get("includedGroups"):
        raise InputError(f"rule {rule['id']} has a group filter: Graph allows a container filter or a group filter")
    if not change.would_change or dry_run:
        return change
    client.put(path, scoped_schema(schema, str(rule["id"]), filt))
    read_back = _rule(client.get(path))
    after = tuple(str(c) for c in (read_back.get("containerFilter") or {}).get("includedContainers") or ())
    if _folded(after) != _folded(wanted):
        raise UnexpectedOutputError(f"job {job_id} read back with the OUs {list(after)}", target=client.target)
    return change.model_copy(update={"after": OuScope(job_id=job_id, rule_id=before.rule_id, ous=after)})


def scoped_schema(schema: Mapping[str, Any], rule_id: str, container_filter: Mapping[str, Any]) -> dict[str, Any]:
    """The whole schema, OData annotations left out, with rule `rule_id`'s containerFilter replaced."""
    out = writable_schema(schema)
    for rule in out.get("synchronizationRules") or ():
        if rule.get("id") == rule_id:
            rule["containerFilter"] = dict(container_filter)
    return out


def writable_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a schema as read, its OData annotations (`@odata.context`, ...) left out: a PUT's body."""
    return {k: copy.deepcopy(v) for k, v in schema.items() if not k.startswith("@odata.")}


def _ou_diff(before: OuScope, wanted: Sequence[str], filt: Mapping[str, Any], dry_run: bool) -> OuScopeChange:
    old, new = _folded(before.ous), _folded(wanted)
    changed = old != new
    after = before.model_copy(update={"ous": tuple(wanted)}) if changed else before
    return OuScopeChange(
        job_id=before.job_id, changed=changed, dry_run=dry_run, before=before, after=after, container_filter=dict(filt),
        added=tuple(o for o in wanted if o.casefold() not in old),
        removed=tuple(o for o in before.ous if o.casefold() not in new),
    )  # fmt: skip


def _rule(schema: Mapping[str, Any]) -> dict[str, Any]:
    rule_id = ad_to_entra_rule(schema)
    return next(r for r in schema.get("synchronizationRules") or () if r.get("id") == rule_id)


# -- 3. attribute mappings ---------------------------------------------------------------------------


def get_attribute_mappings(client: GraphClient, *, job_id: str) -> AttributeMappings:
    """The AD-to-Entra rule's object mappings and their attribute mappings, from GET .../jobs/{id}/schema."""
    sp, _ = locate_job(client, job_id)
    rule = _rule(client.get(f"{job_path(sp, job_id)}/schema"))
    mappings = tuple(ObjectMapping.from_graph(m) for m in rule.get("objectMappings") or ())
    return AttributeMappings(job_id=job_id, rule_id=str(rule["id"]), object_mappings=mappings)


def set_attribute_mappings(
    client: GraphClient, *, job_id: str, mappings: Mapping[str, str], object_type: str = "user", dry_run: bool = False
) -> AttributeMappingChange:
    """Map target attributes of a job's AD-to-Entra rule to these source expressions (target -> expression).

    The schema is read, the rule found as set_ou_scope finds it, and its object mapping from `object_type`
    (sourceObjectName, case-insensitive). Each expression is parsed by Graph first (POST .../schema/
    parseExpression: a read, sent in a dry run too); one that does not parse is an InputError, before any
    write. A target already mapped keeps its other fields (flowType, flowBehavior, matchingPriority,
    defaultValue) and gets the parsed source; a new one flows Always, matchingPriority 0. A matching
    attribute (matchingPriority > 0) is refused. Sends nothing when every source already equals the parsed
    one, or in a dry run; otherwise PUTs the whole schema and reads each source back.
    """
    wanted = _check_mappings(mappings)
    sp, _ = locate_job(client, job_id)
    path = f"{job_path(sp, job_id)}/schema"
    schema = client.get(path)
    rule = _rule(schema)
    objects = _object_mapping(rule, object_type)
    current = [dict(m) for m in objects.get("attributeMappings") or ()]
    _refuse_matching(current, wanted)
    parsed = {target: _parse(client, job_path(sp, job_id), target, text) for target, text in wanted.items()}
    merged, added, modified = merge_attribute_mappings(current, parsed)
    name = str(objects.get("sourceObjectName"))

    def state(attribute_mappings: Sequence[Mapping[str, Any]]) -> MappedAttributes:
        named = [AttributeMapping.from_graph(m) for m in attribute_mappings if _target(m) in _folded(wanted)]
        return MappedAttributes(job_id=job_id, rule_id=str(rule["id"]), object_type=name, mappings=tuple(named))

    change = AttributeMappingChange(
        job_id=job_id, changed=bool(added or modified), dry_run=dry_run, before=state(current), after=state(merged),
        targets=tuple(wanted), added=tuple(added), modified=tuple(modified),
        note="dry run: nothing was written (the expressions were parsed)" if dry_run else None,
    )  # fmt: skip
    if not change.would_change or dry_run:
        return change
    client.put(path, mapped_schema(schema, str(rule["id"]), name, merged))
    read_back = [dict(m) for m in _object_mapping(_rule(client.get(path)), name).get("attributeMappings") or ()]
    wrong = [t for t, source in parsed.items() if not _same_source(_source_of(read_back, t), source)]
    if wrong:
        raise UnexpectedOutputError(
            f"job {job_id} read back without the sources written for {', '.join(wrong)}", target=client.target
        )
    return change.model_copy(update={"after": state(read_back)})


def merge_attribute_mappings(
    current: Sequence[Mapping[str, Any]], sources: Mapping[str, Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Every attribute mapping, in order, each target of `sources` given that source (targets compared
    case-insensitively), and the targets added (at the end: flowType Always, matchingPriority 0) and modified.

    A mapping whose source already equals the wanted one (`_same_source`) is kept as it is.
    """
    by_target = {t.casefold(): t for t in sources}
    merged, seen, modified = [], set(), []
    for mapping in current:
        target = by_target.get(_target(mapping))
        if target is not None:
            seen.add(target)
            if not _same_source(mapping.get("source"), sources[target]):
                mapping = {**mapping, "source": dict(sources[target])}
                modified.append(target)
        merged.append(dict(mapping))
    added = [t for t in sources if t not in seen]
    merged += [{"targetAttributeName": t, "source": dict(sources[t]), "flowType": "Always", "matchingPriority": 0}
               for t in added]  # fmt: skip
    return merged, added, modified


def mapped_schema(
    schema: Mapping[str, Any], rule_id: str, object_type: str, attribute_mappings: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The whole schema, OData annotations left out, with the attributeMappings of rule `rule_id`'s object
    mapping from `object_type` (its sourceObjectName as read) replaced."""
    out = writable_schema(schema)
    rules = [r for r in out.get("synchronizationRules") or () if r.get("id") == rule_id]
    for objects in (m for r in rules for m in r.get("objectMappings") or ()):
        if objects.get("sourceObjectName") == object_type:
            objects["attributeMappings"] = [dict(m) for m in attribute_mappings]
    return out


def _check_mappings(mappings: Mapping[str, str]) -> dict[str, str]:
    """The mappings, each target and expression stripped; refused when empty, blank, or a target twice."""
    wanted: dict[str, str] = {}
    for target, expression in mappings.items():
        name, text = str(target).strip(), str(expression).strip()
        if not name or not text:
            raise InputError(f"an attribute mapping needs a target and an expression: {target!r}: {expression!r}")
        if name.casefold() in _folded(wanted):
            raise InputError(f"the target attribute {name} is given twice")
        wanted[name] = text
    if not wanted:
        raise InputError("give at least one attribute mapping (target attribute: source expression)")
    return wanted


def _object_mapping(rule: Mapping[str, Any], object_type: str) -> dict[str, Any]:
    """The rule's one object mapping from `object_type` (sourceObjectName, case-insensitive)."""
    found = [m for m in rule.get("objectMappings") or () if same(m.get("sourceObjectName"), object_type)]
    if len(found) != 1:
        there = ", ".join(str(m.get("sourceObjectName")) for m in rule.get("objectMappings") or ()) or "none"
        what = "no object mapping" if not found else f"{len(found)} object mappings"
        raise InputError(f"rule {rule.get('id')} has {what} from {object_type!r} (its object types: {there})")
    return dict(found[0])


def _refuse_matching(current: Sequence[Mapping[str, Any]], wanted: Mapping[str, str]) -> None:
    for mapping in current:
        if _target(mapping) in _folded(wanted) and int(mapping.get("matchingPriority") or 0) > 0:
            raise InputError(
                f"{mapping.get('targetAttributeName')} is a matching attribute (matchingPriority "
                f"{mapping.get('matchingPriority')}): it joins AD objects to the Entra objects they already are, "
                "and changing it can leave objects unmatched or duplicated; this step changes only attributes "
                "that flow, not the join"
            )


def _parse(client: GraphClient, job: str, target: str, expression: str) -> dict[str, Any]:
    """Graph's attributeMappingSource for `expression` (POST .../schema/parseExpression, which changes nothing)."""
    failed = f"Graph could not parse the expression for {target}, {expression}"
    try:
        answer = client.post(f"{job}/schema/parseExpression", {"expression": expression}, idempotent=True) or {}
    except GraphError as exc:
        if exc.status == 400:  # an expression Graph rejects outright (inferred: the page shows only a 200)
            raise InputError(f"{failed}: {exc.message}", target=client.target) from exc
        raise
    source = answer.get("parsedExpression")
    if not answer.get("parsingSucceeded") or not isinstance(source, dict):
        error = answer.get("error") or {}
        detail = ": ".join(str(error[k]) for k in ("code", "message") if error.get(k)) or "no error given"
        raise InputError(f"{failed}: {detail}", target=client.target)
    return {k: v for k, v in source.items() if not k.startswith("@odata.")}


def _same_source(current: Any, wanted: Mapping[str, Any]) -> bool:
    """Whether two attributeMappingSources are the same: their types (case-insensitive), then their
    expressions (case-sensitive: a constant's case matters), or their names when neither has an expression."""
    current = current if isinstance(current, Mapping) else {}
    if not same(current.get("type"), str(wanted.get("type"))):
        return False
    if current.get("expression") or wanted.get("expression"):
        return bool(current.get("expression") == wanted.get("expression"))
    return bool(current.get("name") == wanted.get("name"))


def _source_of(attribute_mappings: Sequence[Mapping[str, Any]], target: str) -> Any:
    return next((m.get("source") for m in attribute_mappings if _target(m) == target.casefold()), None)


def _target(mapping: Mapping[str, Any]) -> str:
    return str(mapping.get("targetAttributeName") or "").casefold()


# -- 4. start and watch ------------------------------------------------------------------------------


def start_and_watch(
    client: GraphClient,
    *,
    job_id: str,
    deadline_s: float,
    poll_s: float = 30.0,
    dry_run: bool = False,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> StartWatch:
    """Start a job (POST .../start, only when Paused or in Quarantine; never repeated) and watch its status.

    The watch ends at steady state (`is_steady`), at a quarantine (the reason reported), or at `deadline_s`;
    it reads every `poll_s` seconds. A status read that fails in transit (the server stopped answering:
    each read ends within the client's timeout) is counted in `unanswered` and the watch goes on to its
    deadline, so the whole watch takes at most `deadline_s` plus one read's timeout.
    """
    sp, job = locate_job(client, job_id)
    before = JobStatus.from_graph(job)
    wanted = SENT_WHEN["resume"]
    send = wanted is None or wanted(before)
    note = "sent POST .../start" if send else f"POST .../start was not sent: the job is {before.code}"
    if dry_run:
        after = predicted_status("resume", before) if send else before
        return StartWatch(job_id=job_id, changed=send, dry_run=True, before=before, after=after, outcome="dry_run",
                          note=f"dry run: POST .../start would {'' if send else 'not '}be sent")  # fmt: skip
    started = now()
    if send:
        client.post(f"{job_path(sp, job_id)}/start", idempotent=False)
    last, unanswered = before, 0

    def read() -> JobStatus:
        nonlocal last, unanswered
        try:
            last = read_status(client, sp, job_id)
        except TransportError:
            unanswered += 1
        return last

    def stops(status: JobStatus) -> bool:
        return is_steady(status, started) or new_quarantine(status, before, started)

    waited = poll(read, stops, deadline_s=deadline_s, poll_s=poll_s, clock=clock, sleep=sleep)
    after = waited.value
    outcome: WatchOutcome = "steady" if isinstance(waited, Done) else "deadline"
    if new_quarantine(after, before, started):
        outcome = "quarantine"
    return StartWatch(
        job_id=job_id, changed=send, before=before, after=after, outcome=outcome, reason=_reason(after, outcome),
        counts=run_counts(after), reads=waited.reads, elapsed_s=round(waited.elapsed_s, 3), unanswered=unanswered,
        note=note,
    )  # fmt: skip


def is_steady(status: JobStatus, since: dt.datetime) -> bool:
    """Active, not quarantined, the last run not Failed, and steady state reached (or a successful run
    ended) at or after `since` (synchronizationStatus: steadyStateLastAchievedTime, lastSuccessfulExecution)."""
    if not same(status.code, "Active") or quarantined(status):
        return False
    if status.last_run is not None and same(status.last_run.state, "Failed"):
        return False
    times = [status.steady_state_last_achieved_time]
    times.append(status.last_successful_run.time_ended if status.last_successful_run else None)
    return any(t is not None and t >= since for t in times)


def quarantined(status: JobStatus) -> bool:
    """Whether the service reports a quarantine, whatever the code (its documented job is Paused with one)."""
    return same(status.code, "Quarantine") or status.quarantine is not None


def new_quarantine(status: JobStatus, before: JobStatus, since: dt.datetime) -> bool:
    """A quarantine that stops a watch: the job was not quarantined before the start, or this quarantine
    began at or after it (start lifts a quarantine; the status may show the old one until the service acts)."""
    if not quarantined(status):
        return False
    began = status.quarantine.current_began if status.quarantine is not None else None
    return not quarantined(before) or (began is not None and began >= since)


def run_counts(status: JobStatus) -> dict[str, int]:
    """The last run's counters (countImported -> imported, ...) and the synchronized objects by type."""
    run = status.last_run.model_dump(by_alias=True) if status.last_run else {}
    counts = {k[5:6].lower() + k[6:]: int(v) for k, v in run.items() if k.startswith("count") and v is not None}
    return counts | {f"synchronized_{k}": v for k, v in status.synchronized_counts.items()}


def _reason(status: JobStatus, outcome: str) -> str | None:
    if outcome == "quarantine" and status.quarantine is not None:
        error = status.quarantine.error
        detail = f": {error.code} {error.message or ''}".rstrip() if error is not None and error.code else ""
        return f"quarantine {status.quarantine.reason or 'Unknown'}{detail}"
    if outcome == "quarantine":
        return "quarantine"
    if outcome == "deadline":
        return f"not steady before the deadline: the job is {status.code}"
    return None


# -- helpers -----------------------------------------------------------------------------------------


def _check_domain(domain: str) -> str:
    text = domain.strip().rstrip(".")
    if not _DOMAIN.fullmatch(text):
        raise InputError(f"not a DNS domain name: {domain!r} (expected e.g. contoso.com)")
    return text


def _secret_json(pairs: Sequence[Mapping[str, Any]], key: str) -> dict[str, Any]:
    value = next((p.get("value") for p in pairs if p.get("key") == key), None)
    parsed = _json(value)
    return parsed if isinstance(parsed, dict) else {}


def _json(value: Any) -> Any:
    try:
        return json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return value


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.casefold(), value)
    return tuple(seen.values())


def _folded(values: Iterable[str]) -> set[str]:
    return {v.casefold() for v in values}
