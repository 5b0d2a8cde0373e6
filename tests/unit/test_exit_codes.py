"""Exit codes are defined once (`psbridge.errors.ExitCode`); every error class and `psbridge selftest` use them."""

from __future__ import annotations

import ast
import inspect
import sys

import psbridge.errors as errors_module
from psbridge.errors import ExitCode, PsbridgeError
from psbridge.runbooks.report import Check, Status
from psbridge.selftest import SelftestReport


def _subclasses(cls: type[PsbridgeError]) -> list[type[PsbridgeError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_error_class_exits_with_a_defined_code_and_none_with_the_internal_one() -> None:
    classes = [c for c in _subclasses(PsbridgeError) if c.__module__ == "psbridge.errors"]
    assert len(classes) > 30
    assert {c.__name__: type(c.exit_code) for c in classes} == {c.__name__: ExitCode for c in classes}
    assert ExitCode.INTERNAL not in {c.exit_code for c in classes}


def test_the_codes_keep_their_documented_numbers() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0, "SHORT": 1, "USAGE": 2, "TRANSPORT": 3, "REMOTE": 4, "INTERNAL": 70, "LOCAL_WRITE": 74,
        "INTERRUPTED": 130, "BROKEN_PIPE": 141, "TERMINATED": 143,
    }  # fmt: skip


def test_a_selftest_with_an_unreachable_target_exits_as_a_transport_failure() -> None:
    passed = Check(name="adsync.version", status=Status.PASS, summary="ok")
    assert SelftestReport(runbook="selftest", checks=(passed,), unreachable=("dc",)).exit_code == ExitCode.TRANSPORT
    assert SelftestReport(runbook="selftest", checks=(passed,)).exit_code == ExitCode.OK


def test_errors_imports_only_the_standard_library_at_module_level() -> None:
    """`psbridge --help` loads psbridge.errors: it must stay light."""
    tree = ast.parse(inspect.getsource(errors_module))
    imported = {
        ((node.module or "") if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - {"__future__"} <= sys.stdlib_module_names
