"""The ADSync listings cross as one JSON page each (psbridge/ps/adsync/Get-RunProfileResult.ps1's and
Get-Connectors.ps1's headers; docs/adsync.md, "Connectors and run history"), validated straight into the models.

Pages here are written as the scripts send them from Windows PowerShell 5.1: `ConvertTo-Json -Compress`, whose
serializer writes `'`, `&`, `<` and `>` as \\u escapes; GUIDs as text; times as `ToString('o')`, which keeps the
DateTime's Kind (Utc: Z, Local: the host's offset, Unspecified: no offset); arrays always as arrays. They are served
by the replay server through the real pypsrp client.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from helpers import REPO

from psbridge import Session, UnexpectedOutputError, adsync

Factory = Callable[..., Session]
RUNS, CONNECTORS = "adsync/Get-RunProfileResult.ps1", "adsync/Get-Connectors.ps1"
UTC = dt.UTC
PACIFIC = dt.timezone(dt.timedelta(hours=-8))  # a Connect server at UTC-8: a Local DateTime carries -08:00
AAD = uuid.UUID("b891884f-051e-4a83-95af-2544101c9083")
AD = uuid.UUID("6f1e6f0c-2d4b-4b7a-9a53-3c1f0e7d2a10")


def o_format(when: dt.datetime, kind: str) -> str:
    """DateTime.ToString('o'): seven fractional digits, then Z (Utc), the offset (Local) or nothing (Unspecified)."""
    text = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"
    if kind == "Utc":
        return text + "Z"
    if kind == "Local":
        minutes = int(when.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
        return text + f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return text


def ps51_json(value: Any) -> str:
    """ConvertTo-Json -Compress as Windows PowerShell 5.1 writes it (JavaScriptSerializer's escapes)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.translate({ord(c): f"\\u{ord(c):04x}" for c in "'&<>"})


def page(rows: list[dict[str, Any]]) -> str:
    return ps51_json({"cursor": None, "total": len(rows), "remaining": 0, "rows": rows})


def run_row(history: uuid.UUID, *steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A run as Get-RunProfileResult.ps1 writes it (the Entra ID connector's export), its steps nested."""
    started = dt.datetime(2026, 11, 25, 13, 0, 0)
    return {
        "RunHistoryId": str(history), "ConnectorId": str(AAD), "ConnectorName": "contoso.onmicrosoft.com - AAD",
        "RunProfileId": "4c2b8f61-93a5-4f0e-b7d4-1e6a2c9d8b03", "RunProfileName": "Export", "RunNumber": 4900,
        "Username": "NT SERVICE\\ADSync", "IsRunComplete": True, "Result": "success", "CurrentStepNumber": 1,
        "TotalSteps": 1, "StartDate": o_format(started, "Unspecified"),
        "EndDate": o_format(started + dt.timedelta(seconds=4), "Unspecified"), "RunStepResults": list(steps),
        **fields,
    }  # fmt: skip


def step_row(history: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """A RunStepResult as the script writes it: counters as numbers, null error counts when no list."""
    return {
        "RunHistoryId": str(history), "StepHistoryId": str(uuid.uuid4()), "StepNumber": 1, "StepResult": "success",
        "StartDate": "2026-11-25T13:00:00.0000000", "EndDate": "2026-11-25T13:00:04.0000000", "StageAdd": 0,
        "ExportAdd": 0, "ExportUpdate": 0, "ExportFailure": 0, "CurrentExportBatchNumber": 1207,
        "LastSuccessfulExportBatchNumber": 1207,
        "ConnectorConnectionInformationXml": "<connection-result>success</connection-result>",
        "SyncErrorCount": None, "DiscoveryErrorCount": None, "MvRetryErrorCount": None, **fields,
    }  # fmt: skip


def connector_row(identifier: uuid.UUID, *partitions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "Identifier": str(identifier), "Name": "contoso.example", "ConnectorTypeName": "AD", "Subtype": "",
        "Description": "", "CreationTime": "2024-03-12T09:15:41.0000000Z",
        "LastModificationTime": "2026-10-30T08:02:17.0000000Z", "Partitions": list(partitions), **fields,
    }  # fmt: skip


def partition_row(connector: uuid.UUID, dn: str, **fields: Any) -> dict[str, Any]:
    return {
        "ConnectorIdentifier": str(connector), "Identifier": str(uuid.uuid4()), "Name": dn, "DN": dn,
        "Selected": True, "IsDomain": True, "ContainerInclusionList": [], "ContainerExclusionList": [], **fields,
    }  # fmt: skip


def history(output: list[Any], *, number: int = 10, connector: uuid.UUID | None = None) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [{"name": "NumberRequested", "value": number}]
    if connector is not None:
        parameters.append({"name": "ConnectorId", "value": str(connector)})
    return {"script": RUNS, "parameters": parameters, "output": output}


def connectors(output: list[Any]) -> dict[str, Any]:
    return {"script": CONNECTORS, "output": output}


# -- pages that read ----------------------------------------------------------------------------------------------


def test_run_history_reads_each_time_as_the_zone_it_was_sent_with(replay_session: Factory) -> None:
    """Unspecified (no offset: UTC, as run history's times are), Utc (Z) and Local (-08:00) all read as the same
    instant they name; seven fractional digits keep the microseconds; 5.1's escapes read back."""
    done, running = uuid.uuid4(), uuid.uuid4()
    start = dt.datetime(2026, 11, 25, 13, 0, 0, 123456, tzinfo=UTC)
    local_end = (start + dt.timedelta(seconds=4)).astimezone(PACIFIC)
    step = step_row(done, StartDate=o_format(start, "Utc"), EndDate=o_format(local_end, "Local"), ExportUpdate=2)
    rows = [
        run_row(running, IsRunComplete=False, Result="in-progress", EndDate=None),
        run_row(done, step, StartDate=o_format(start.replace(tzinfo=None), "Unspecified")),
    ]
    text = page(rows)
    assert (
        '"StartDate":"2026-11-25T13:00:00.1234560"' in text and '"EndDate":"2026-11-25T05:00:04.1234560-08:00"' in text
    )
    assert "\\u003cconnection-result\\u003e" in text and "NT SERVICE\\\\ADSync" in text
    first, second = adsync.get_run_profile_result(replay_session([history([text])]))
    assert (first.run_history_id, first.is_run_complete, first.end_date, first.step_results) == (
        running, False, None, (),
    )  # fmt: skip
    assert second.start_date == start and second.start_date.utcoffset() == dt.timedelta(0)
    (read,) = second.step_results
    assert (read.start_date, read.end_date) == (start, start + dt.timedelta(seconds=4))
    assert read.end_date is not None and read.end_date.utcoffset() == dt.timedelta(hours=-8)  # kept, not relabelled
    assert read.run_history_id == done and read.counts == {"StageAdd": 0, "ExportAdd": 0, "ExportUpdate": 2,
                                                           "ExportFailure": 0}  # fmt: skip
    assert read.connector_connection_information_xml == "<connection-result>success</connection-result>"
    assert (second.username, second.run_profile_id) == ("NT SERVICE\\ADSync", uuid.UUID(rows[1]["RunProfileId"]))


def test_enums_and_unknown_results_stay_text_and_only_sent_counters_count(replay_session: Factory) -> None:
    run = uuid.uuid4()
    step = {"RunHistoryId": str(run), "StepNumber": 1, "StepResult": "stopped-deletion-threshold-exceeded",
            "ExportDelete": 612}  # fmt: skip
    row = run_row(run, step, Result="stopped-deletion-threshold-exceeded", RunProfileId=None)
    session = replay_session([history([page([row])], number=1, connector=AAD)])
    (result,) = adsync.get_run_profile_result(session, number_requested=1, connector_id=str(AAD))
    assert (result.result, result.run_profile_id) == ("stopped-deletion-threshold-exceeded", None)
    (read,) = result.step_results
    assert (read.step_result, read.counts, read.step_history_id) == ("stopped-deletion-threshold-exceeded",
                                                                     {"ExportDelete": 612}, None)  # fmt: skip


def test_step_error_counts_come_back(replay_session: Factory) -> None:
    run = uuid.uuid4()
    step = step_row(run, ExportFailure=3, SyncErrorCount=3, DiscoveryErrorCount=0)
    session = replay_session([history([page([run_row(run, step, Result="completed-export-errors")])])])
    ((read,),) = [r.step_results for r in adsync.get_run_profile_result(session)]
    assert read.counts["ExportFailure"] == 3
    assert (read.sync_error_count, read.discovery_error_count, read.mv_retry_error_count) == (3, 0, None)


def test_connectors_read_with_their_partitions_nested(replay_session: Factory) -> None:
    """A Local creation time keeps its offset; Selected/IsDomain null are not reported (never False); container
    lists: arrays as sent, null when the partition had no scope object; an empty Partitions is no partition."""
    created = dt.datetime(2024, 3, 12, 1, 15, 41, tzinfo=PACIFIC)
    domain = partition_row(AD, "DC=contoso,DC=example", IsDomain=None,
                           ContainerInclusionList=["OU=Sales,DC=contoso,DC=example"])  # fmt: skip
    configuration = partition_row(AD, "CN=Configuration,DC=contoso,DC=example", Selected=False, IsDomain=False,
                                  ContainerInclusionList=None, ContainerExclusionList=None)  # fmt: skip
    rows = [
        connector_row(AD, domain, configuration, CreationTime=o_format(created, "Local")),
        connector_row(
            AAD,
            Name="contoso.onmicrosoft.com - AAD",
            ConnectorTypeName="Extensible2",
            Subtype="Windows Azure Active Directory (Microsoft)",
        ),
    ]
    ad, aad = adsync.get_connector(replay_session([connectors([page(rows)])]))
    assert ad.creation_time == created and ad.creation_time.utcoffset() == dt.timedelta(hours=-8)
    assert ad.last_modification_time == dt.datetime(2026, 10, 30, 8, 2, 17, tzinfo=UTC)
    first, second = ad.partitions
    assert (first.connector_id, first.selected, first.is_domain) == (AD, True, None)
    assert (first.container_inclusions, first.container_exclusions) == (("OU=Sales,DC=contoso,DC=example",), ())
    assert (second.selected, second.is_domain, second.container_inclusions) == (False, False, None)
    assert (aad.identifier, aad.is_entra_id, aad.partitions, aad.type) == (AAD, True, (), "Extensible2")


@pytest.mark.parametrize("script", [RUNS, CONNECTORS])
def test_an_empty_listing_is_an_empty_list(replay_session: Factory, script: str) -> None:
    text = page([])
    assert text == '{"cursor":null,"total":0,"remaining":0,"rows":[]}'
    if script == RUNS:
        assert adsync.get_run_profile_result(replay_session([history([text])])) == []
    else:
        assert adsync.get_connector(replay_session([connectors([text])])) == []


def test_a_listing_costs_one_call(replay_session: Factory) -> None:
    run = uuid.uuid4()
    session = replay_session([history([page([run_row(run, step_row(run))])])])
    adsync.get_run_profile_result(session)
    assert len(session.transport.server.keys_seen) == 1  # type: ignore[attr-defined]


# -- pages that cannot be read -------------------------------------------------------------------------------------

RUN = uuid.UUID("9d3c4812-5b1e-4c8a-a6f2-7e0b3d9c4812")
BAD_PAGES: dict[str, tuple[str, str, str, str]] = {
    "not JSON (cut short)": (RUNS, page([run_row(RUN)])[:-40], "(the page)", "Invalid JSON"),
    "5.1's own date form": (RUNS, page([run_row(RUN, StartDate="\\/Date(1764075600000)\\/")]), "rows.0.StartDate",
                            ""),
    "a date in no known form": (RUNS, page([run_row(RUN, EndDate="yesterday")]), "rows.0.EndDate", ""),
    "a GUID written as an object": (RUNS, page([run_row(RUN, RunHistoryId={"value": str(RUN), "Guid": str(RUN)})]),
                                        "rows.0.RunHistoryId", ""),
    "an enum as its number": (RUNS, page([run_row(RUN, Result=0)]), "rows.0.Result", "valid string"),
    "a step without its number": (RUNS, page([run_row(RUN, {"RunHistoryId": str(RUN), "StepResult": "success"})]),
                                  "rows.0.RunStepResults.0.StepNumber", "Field required"),
    "a connector without Identifier": (CONNECTORS, page([{k: v for k, v in connector_row(AD).items()
                                                          if k != "Identifier"}]), "rows.0.Identifier",
                                       "Field required"),
    "partitions collapsed to an object": (CONNECTORS, page([connector_row(AD, Partitions={"value": [], "Count": 0})]),
                                          "rows.0.Partitions", ""),
    "no total": (CONNECTORS, '{"cursor":null,"remaining":0,"rows":[]}', "total", "Field required"),
    "an unknown envelope field": (CONNECTORS, '{"cursor":null,"total":0,"remaining":0,"rows":[],"Rows":[]}', "Rows",
                                  ""),
}  # fmt: skip


def listing_of(script: str) -> Callable[[Session], Any]:
    return adsync.get_run_profile_result if script == RUNS else adsync.get_connector


@pytest.mark.parametrize("case", BAD_PAGES, ids=list(BAD_PAGES))
def test_a_malformed_page_is_one_error_naming_the_command(replay_session: Factory, case: str) -> None:
    script, text, where, reason = BAD_PAGES[case]
    spec = history([text]) if script == RUNS else connectors([text])
    session = replay_session([spec])
    with pytest.raises(UnexpectedOutputError) as info:
        listing_of(script)(session)
    error = info.value
    assert script in str(error) and script in (error.command or "") and error.location == where
    assert error.model == ("RunProfileResult" if script == RUNS else "Connector")
    assert where in str(error) and reason in (error.reason or "") and error.raw == text


@pytest.mark.parametrize("script", [RUNS, CONNECTORS])
@pytest.mark.parametrize(
    "output",
    [[], [page([]), page([])], [{"properties": {"Kind": "Run"}}]],
    ids=["nothing", "two pages", "objects, as the scripts sent before"],
)
def test_anything_but_one_page_is_one_error_naming_the_command(
    replay_session: Factory, script: str, output: list[Any]
) -> None:
    spec = history(output) if script == RUNS else connectors(output)
    with pytest.raises(UnexpectedOutputError, match=rf"{re.escape(script)}.* sent {len(output)} objects where one "
                       "JSON page was expected"):  # fmt: skip
        listing_of(script)(replay_session([spec]))


# -- the scripts send what these tests read --------------------------------------------------------------------------


def script_text(name: str) -> str:
    return (REPO / "psbridge" / "ps" / name).read_text(encoding="utf-8")


def code_of(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


@pytest.mark.parametrize("name", [RUNS, CONNECTORS])
def test_each_script_sends_one_compressed_page_deep_enough_for_its_rows(name: str) -> None:
    """The pipeline would unroll a one-row page; the default -Depth (2) would write nested rows as text: a run's
    step fields and a partition's container lists sit at depth 5 (page, rows, row, nested array, nested row)."""
    code = code_of(script_text(name))
    (convert,) = re.findall(r"^\s*ConvertTo-Json\b.*$", code, flags=re.MULTILINE)
    assert "-InputObject $page" in convert and "-Compress" in convert
    depth = re.search(r"-Depth (\d+)", convert)
    assert depth is not None and int(depth.group(1)) >= 6
    assert re.search(r"\$page = \[ordered\]@\{\s*cursor\s*= \$null\s*total\s*= \$rows\.Count\s*remaining\s*= 0"
                     r"\s*rows\s*= \$rows\.ToArray\(\)\s*\}", code)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "fields"),
    [(RUNS, ("StartDate", "EndDate")), (CONNECTORS, ("CreationTime", "LastModificationTime"))],
)
def test_each_time_crosses_as_round_trip_text_with_its_own_zone(name: str, fields: tuple[str, ...]) -> None:
    """5.1's ConvertTo-Json writes a DateTime as \\/Date(ms)\\/: every time goes through ConvertTo-IsoText, which
    writes ToString('o') of the value as it is: no conversion, no Z of its own, no relabelled Kind."""
    code = code_of(script_text(name))
    iso = code[code.index("function ConvertTo-IsoText") : code.index("function ConvertTo-GuidText")]
    assert "$Value.ToString('o', [System.Globalization.CultureInfo]::InvariantCulture)" in iso
    for wrong in ("ToUniversalTime", "SpecifyKind", "ToLocalTime", "Z'", 'Z"', "DateTimeKind"):
        assert wrong not in iso, wrong
    for field in fields:
        assigned = re.findall(rf"^\s*{field}\s*=\s*(.+)$", code, flags=re.MULTILINE)
        assert assigned and all(a.startswith("ConvertTo-IsoText ") for a in assigned), (field, assigned)


@pytest.mark.parametrize("name", [RUNS, CONNECTORS])
def test_guids_cross_as_text(name: str) -> None:
    """ConvertTo-Json may write a Guid as an object (with its extended Guid property): every GUID crosses as text."""
    code = code_of(script_text(name))
    for field in ("RunHistoryId", "ConnectorId", "RunProfileId", "StepHistoryId", "Identifier", "ConnectorIdentifier"):
        for value in re.findall(rf"^\s*{field}\s*=\s*(.+)$", code, flags=re.MULTILINE):
            assert value.startswith("ConvertTo-GuidText "), (field, value)
