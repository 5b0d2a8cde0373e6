"""Dry runs say what would happen, honestly: a repair's after-state is unknown until it is done, provisioning on
demand names each step it would run (never a made-up outcome), and --wait-for takes only documented codes."""

from __future__ import annotations

from typing import Any

import pytest
from cli_helpers import Result
from cloudsync_data import HEALTHY
from helpers import DEMO

from psbridge.cli.params import JOB_STATUS_CODES, JobStatusCode
from psbridge.cloudsync.models import STAGES

ADELE = "CN=Adele Vance,OU=Sales,DC=contoso,DC=example"
POD = ["cloudsync", "provision-on-demand", "--via", "graph", "--job-id", HEALTHY, "--dn", ADELE, "--dry-run"]


def _rows(text: str) -> dict[str, str]:
    return dict(line.split(None, 1) for line in text.splitlines())


def test_a_repair_dry_run_predicts_no_after_state_and_says_why(cli: Any) -> None:
    doc = cli("--replay", DEMO, "-o", "json", "cloudsync", "repair-account", "--dry-run").json()
    table: Result = cli("--replay", DEMO, "cloudsync", "repair-account", "--dry-run")

    assert (doc["dry_run"], doc["changed"], doc["would_change"]) == (True, False, True)
    assert doc["before"]["id"] and doc["after"] is None  # recreated: not a copy of "before"
    assert "known only after the repair" in doc["note"] and doc["before"]["id"] in doc["note"]
    rows = _rows(table.out)
    assert rows["id"] == f"{doc['before']['id']} -> (known after the repair)"
    assert "changed" not in rows and rows["would_change"] == "yes"


def test_a_provision_dry_run_names_every_step_it_would_run_and_no_outcome(cli: Any) -> None:
    doc = cli("--replay", DEMO, "-o", "json", *POD).json()
    table: Result = cli("--replay", DEMO, *POD)

    assert (doc["dry_run"], doc["would_change"], doc["result"]) == (True, True, None)
    assert doc["stages"] == dict.fromkeys(STAGES) and doc["steps"] == []  # no invented step result
    assert list(doc["planned_steps"]) == list(STAGES)
    assert all(text.startswith("not run: would ") for text in doc["planned_steps"].values())
    assert ADELE in doc["planned_steps"]["import"] and doc["would_send"].startswith("POST /servicePrincipals/")
    assert ADELE in doc["would_send"] and doc["rule_id"] in doc["would_send"]
    rows = _rows(table.out)
    assert table.code == 0 and all(rows[stage].startswith("not run: ") for stage in STAGES)
    assert "-" not in [rows[stage] for stage in (*STAGES, "result", "would_send")]


@pytest.mark.parametrize("given", ["paused", "PAUSED", " Paused ", "quarantine", "notrun"])
def test_wait_for_takes_a_documented_code_in_any_case_in_graph_spelling(given: str) -> None:
    assert JobStatusCode().convert(given, None, None) in JOB_STATUS_CODES
    assert JobStatusCode().convert(given, None, None).casefold() == given.strip().casefold()


def test_wait_for_in_lower_case_waits_for_the_code(cli: Any) -> None:
    result: Result = cli("--replay", DEMO, "-o", "json", "cloudsync", "suspend", "--job-id", HEALTHY, "--yes",
                         "--wait-for", "paused", "--deadline", "0")  # fmt: skip

    assert result.code == 0, result
    assert (result.json()["wait_for"], result.json()["reached"]) == ("Paused", True)
