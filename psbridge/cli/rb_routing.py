"""`psbridge diagnose routing-domain`: why the Hybrid Configuration Wizard stops with HCW8001.

Mirrors `psbridge.runbooks.routing.diagnose_routing_domain` on the `exo` target. Whether directory
synchronization is on is read from Microsoft Graph when Graph is configured (app-only credentials from
PSBRIDGE_GRAPH_* or the config file's [graph] table), or replayed (`--replay DIR` with DIR/graph/*.yaml);
otherwise the report says how to check it by hand.
"""

from __future__ import annotations

import click

from psbridge.cli.runbooks import diagnose, emit_report, targets


@diagnose.command("routing-domain")
@click.option(
    "--tenant", metavar="NAME", help="The tenant (contoso or contoso.onmicrosoft.com).  [default: the initial domain's]"
)
@click.pass_context
def routing_domain(ctx: click.Context, tenant: str | None) -> None:
    """HCW8001: is <tenant>.mail.onmicrosoft.com an accepted domain in Exchange Online? If not, is directory
    synchronization on (Microsoft Graph), and the documented fix, printed, never run.

    Exit code 0 when the routing domain is there, 1 when it is missing (or only another one is), 2 bad
    input, 3 Exchange Online or Graph is unreachable.
    """
    from psbridge.runbooks.routing import diagnose_routing_domain

    report = diagnose_routing_domain(targets(ctx), tenant=tenant)
    emit_report(ctx, report)
