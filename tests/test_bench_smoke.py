"""`scripts/bench.py --quick --json` in a subprocess: every section is reported and its counts hold.

Only deterministic figures are asserted (WSMan requests, pipelines, pools, pages, the two targets of
issue 5), never a wall time: the bench itself measures, this only checks that what it counts is right.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("per_call", "rollout", "large_read", "per_call_latency", "rollout_latency", "large_read_latency")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--json"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_every_section_is_reported_with_its_counts_and_latency(report: dict[str, Any]) -> None:
    settings, sections = report["settings"], report["sections"]
    assert set(sections) == {*SECTIONS, "cli_startup"}
    assert settings["latency_ms"] > 0
    for name in SECTIONS:
        latency = settings["latency_ms"] if name.endswith("_latency") else 0
        assert sections[name]["latency_ms"] == latency, name
        assert len(sections[name]["ways"]) >= 2, name
    assert sections["per_call"]["count"] == settings["calls"]
    assert sections["per_call_latency"]["count"] == settings["latency_calls"]
    assert sections["rollout"]["count"] == settings["mailboxes"]
    assert sections["rollout_latency"]["count"] == settings["latency_mailboxes"]
    assert sections["large_read"]["count"] == settings["list"]
    assert sections["large_read_latency"]["count"] == settings["latency_list"]
    assert set(sections["cli_startup"]["wall_s"]) == {"psbridge --help", "python -c pass"}


@pytest.mark.parametrize("name", ["per_call", "per_call_latency"])
def test_a_pooled_session_opens_one_pool_and_sends_three_requests_per_call(report: dict[str, Any], name: str) -> None:
    """Session: 1 pool, Command + Receive + Signal per call; execute_ps: a pool per call."""
    section = report["sections"][name]
    calls = section["count"]
    session, execute_ps = section["ways"]["psbridge Session"], section["ways"]["pypsrp execute_ps"]
    assert session["pools_opened"] == 1
    assert session["pipelines"] == calls and session["pipeline_requests"] == 3 * calls
    assert session["requests_per_item_after_pool_open"] == 3
    assert session["requests"] == session["pool_open_requests"] + 3 * calls + session["pool_close_requests"]
    assert execute_ps["pools_opened"] == calls and execute_ps["pipelines"] == calls
    assert execute_ps["requests"] > session["requests"]
    assert section["ratio"]["requests"] == execute_ps["requests"] / session["requests"]


@pytest.mark.parametrize("name", ["rollout", "rollout_latency"])
def test_the_batched_rollout_sends_one_pipeline_per_batch(report: dict[str, Any], name: str) -> None:
    section = report["sections"][name]
    mailboxes, batch_size = section["count"], report["settings"]["batch_size"]
    batched, naive = section["ways"][f"batched ({batch_size} per batch)"], section["ways"]["naive Set-Mailbox loop"]
    assert batched["pipelines"] == math.ceil(mailboxes / batch_size)
    assert naive["pipelines"] == mailboxes
    assert naive["pipeline_requests"] == 3 * mailboxes
    assert section["ratio"]["requests"] == naive["requests"] / batched["requests"] >= 20


@pytest.mark.parametrize("name", ["large_read", "large_read_latency"])
def test_the_listing_pages_and_the_plain_read_is_one_pipeline(report: dict[str, Any], name: str) -> None:
    section = report["sections"][name]
    pages = math.ceil(section["count"] / report["settings"]["page_size"])
    ways = section["ways"]
    assert "pypsrp Get-Mailbox" in ways and "psbridge, streamed" in ways
    for way, figures in ways.items():
        assert figures["pipelines"] == figures["pages"] == (1 if way.startswith("pypsrp") else pages), way
        assert figures["peak_rss_mib"] > 0 and figures["listing_rss_mib"] >= 0, way
    if name == "large_read":
        assert "psbridge, kept as a list" in ways


def test_both_targets_of_issue_5_are_met_from_the_measured_sections(report: dict[str, Any]) -> None:
    """Batched rollout: at least 20 times fewer requests; a pooled Session: at most 3 requests per call."""
    targets, sections = report["targets"], report["sections"]
    ratio = targets["rollout_request_ratio"]
    assert ratio["min"] == 20 and ratio["value"] == sections["rollout"]["ratio"]["requests"] and ratio["met"]
    per_call = targets["session_requests_per_call_after_pool_open"]
    session = sections["per_call"]["ways"]["psbridge Session"]
    assert per_call["max"] == 3 and per_call["value"] == session["requests_per_item_after_pool_open"]
    assert per_call["met"] and report["targets_met"]


def test_a_missed_target_exits_1_and_the_table_says_so() -> None:
    """Batches of one mailbox send as many requests as the naive loop: the 20x target is missed."""
    tiny = ["--calls", "2", "--latency-calls", "2", "--mailboxes", "4", "--latency-mailboxes", "2", "--list", "10",
            "--latency-list", "10", "--page-size", "5", "--latency-ms", "0"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--batch-size", "1", *tiny],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("target rollout_request_ratio:") and line.endswith("MISSED") for line in lines)
    assert any(line.startswith("target session_requests_per_call_after_pool_open:") and line.endswith(": met")
               for line in lines)  # fmt: skip
    assert any("| batched (1 per batch)" in line for line in lines)
