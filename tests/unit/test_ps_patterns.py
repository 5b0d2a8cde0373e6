"""The packaged PowerShell is free of the patterns that misbehave on a real host (tests/pscheck.py has the
rules and why), and the check flags a sample of each pattern while passing its correct counterpart."""

from __future__ import annotations

import pytest
from pscheck import GLOBAL_ALLOWED, Finding, check, check_packaged, problems

from psbridge import ps

SCRIPTS = ps.names()

# (rule, text the check must flag): one or more per rule, each a shape the grammar gives differently.
FLAGGED = [
    ("bool-cast", "$before = [bool]$mailbox.IsExchangeCloudManaged"),
    ("bool-cast", "$before = [bool]($mailbox.IsExchangeCloudManaged)"),
    ("bool-cast", "[bool]$before = $mailbox.IsExchangeCloudManaged"),
    ("bool-cast", "$row = @{ Selected = [System.Boolean]$partition.'Selected' }"),
    ("array-of-property", "foreach ($step in @($run.RunStepResults)) { $step }"),
    ("array-of-property", "$names = @($item.$name)"),
    ("array-of-property", "$parts = @( ($connector.Partitions) )"),
    ("specify-kind", "[datetime]::SpecifyKind([datetime]$utc, [System.DateTimeKind]::Utc)"),
    ("specify-kind", "$when = [DateTime]::specifykind($value, 'Utc')"),
    ("relative-path", "param([string]$Path)\nGet-ADSyncServerConfiguration -Path $Path"),
    ("relative-path", "Export-AADCloudSyncToolsLogs -OutputPath:'logs'"),
    ("relative-path", "$out = $Folder\nExport-Thing -DestinationPath $out"),
    ("relative-path", "$p = (Resolve-Path -LiteralPath $x).ProviderPath\n$p = $y\nExport-Thing -Path $p"),
    ("relative-path", "Export-Thing -Path $p\n$p = (Resolve-Path -LiteralPath $p).ProviderPath"),
    ("relative-path", "$f = Join-Path -Path $Path -ChildPath 'x'\nExport-Thing -FilePath $f"),
    ("global-scope", "$global:Leftover = 1"),
    ("global-scope", "if ($null -eq ${global:Leftover}) { 'read' }"),
    ("global-scope", "$script:Cache = @{}"),
    ("global-scope", "function global:Get-Helper { 1 }"),
    ("global-scope", "Set-Item -Path function:global:Get-Helper -Value { 1 }"),
    ("global-scope", "Set-Item -Path 'variable:script:Cache' -Value 1"),
    ("global-scope", "Set-Variable -Name Cache -Value 1 -Scope Global"),
    ("global-scope", "New-Variable -Name Cache -Value 1 -Scope:1"),
    ("global-scope", "Import-Module -Name SomeModule -Global"),
]

# Correct counterparts: none of them may be flagged by any rule.
CLEAN = [
    "$before = $mailbox.IsExchangeCloudManaged -eq $true",
    "$before = [System.Convert]::ToBoolean([string]$mailbox.IsExchangeCloudManaged)",
    "$present = [bool]$agent",
    "$name = [string]$partition.Name",
    "foreach ($step in $run.RunStepResults) { $step }",
    "$connectors = @(Get-ADSyncConnector)",
    "$parts = @($connector.Partitions | Where-Object { $null -ne $_ })",
    "$known = $null -ne $scheduler.PSObject.Properties['SchedulerSuspended']",
    "$when = ([datetime]$utc).ToUniversalTime()",
    "$when = [DateTimeOffset]::Parse($text).UtcDateTime",
    "$full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)\n"
    "Get-ADSyncServerConfiguration -Path $full",
    "$full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)\n"
    "$folder = Join-Path -Path $full -ChildPath 'export'\nGet-ADSyncServerConfiguration -Path:$folder",
    "$zip = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath 'a.zip'\nExport-Thing -DestinationPath $zip",
    "$item = Get-Item -LiteralPath $Path\nExport-Thing -Path $item.FullName",
    "Get-Item -LiteralPath $Path\nTest-Path -Path $Path\nRemove-Item -LiteralPath $Path",
    "Export-AADCloudSyncToolsLogs -OutputPath 'C:\\Logs'",
    "$local:count = 1\n$cache = @{}\nfunction Get-Helper { 1 }",
    "Set-Variable -Name Cache -Value 1 -Scope Local",
    "& $module { [string]$script:State.TenantId }",
    "Import-Module -Name ADSync -ErrorAction Stop",
]


def test_there_are_scripts() -> None:
    assert SCRIPTS, "psbridge.ps.names() found no packaged scripts; the check below would pass vacuously"


@pytest.mark.parametrize("name", SCRIPTS)
def test_packaged_script_has_no_finding(name: str) -> None:
    found = problems(ps.load(name), name)
    assert not found, "patterns that misbehave on a real host (see tests/pscheck.py):\n" + "\n".join(map(str, found))


@pytest.mark.parametrize(("rule", "text"), FLAGGED)
def test_the_check_flags_each_pattern(rule: str, text: str) -> None:
    found = problems(text)
    assert rule in {f.rule for f in found}, f"{rule} not flagged in {text!r}: {found}"


@pytest.mark.parametrize("text", CLEAN)
def test_the_check_passes_the_correct_counterparts(text: str) -> None:
    assert check(text) == []


def test_a_finding_reads_file_line_rule_snippet() -> None:
    (finding,) = check("param()\n\n$before = [bool]$mailbox.IsExchangeCloudManaged\n", "exchange/X.ps1")
    assert str(finding) == "psbridge/ps/exchange/X.ps1:3: bool-cast: [bool]$mailbox.IsExchangeCloudManaged"


def test_every_allowed_global_is_used_by_its_script() -> None:
    """The allow-list is exact: an entry no script uses any more must go."""
    used = {f.allowed_by for f in check_packaged() if f.allowed_by is not None}
    assert set(GLOBAL_ALLOWED) - used == set()


def test_every_allowed_global_is_documented_in_psbridge_ps() -> None:
    doc = ps.__doc__ or ""
    for script, kind, name in GLOBAL_ALLOWED:
        assert script in doc, f"{script} ({kind} {name}) is not in psbridge.ps's docstring"
        assert name == "*" or name in doc.lower(), f"{kind} {name} of {script} is not in psbridge.ps's docstring"


def test_the_allow_list_is_per_script() -> None:
    """A name allowed in one script is a finding in any other."""
    text = "$global:PsbridgeExchangeListings = @{}\nImport-Module -Name X -Global\n"
    assert [f.allowed_by is None for f in check(text, "exchange/Invoke-ExchangeCommand.ps1")] == [False, True]
    assert all(f.allowed_by is None for f in check(text, "adsync/Get-Scheduler.ps1"))
    assert all(isinstance(f, Finding) and f.rule == "global-scope" for f in check(text, "adsync/Get-Scheduler.ps1"))
