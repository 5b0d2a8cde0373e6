"""A simulated Exchange Online tenant behind the REST endpoint InvokeCommand (issue 19), for tests and the benchmark.

`ExoRestTenant` is a requests transport adapter (as tests/simulated_graph.py's `CloudSyncTenant`): mount
it on a `requests.Session` and every call to `https://outlook.office365.com/adminapi/beta/<tenant>/...` is
answered from its state, as the undocumented wire is known from public clients (tenant.py names them).
The modules:

- `state`: mailboxes, users, the organization config, accepted domains; rows with their OData annotations;
  identity resolution; the OPATH subset;
- `cmdlets`: Get-/Set-Mailbox, Get-/Set-User, Get-/Set-OrganizationConfig, Get-AcceptedDomain;
- `errors`: the refusals, in the endpoint's error shape;
- `budget`: tests/simulated.py's write budget (`WriteBudget`), per HTTP request;
- `faults`: hang, lost answer, 429, 503 for a chosen call;
- `tenant`: the adapter (validation, paging, `$select`, `$batch`, counters);
- `demo`: the demo tenant of recorded_sessions/sources/demo/exo.yaml, so REST and PSRP answer alike.

Test machinery, not shipped: the tests import it from their directory (pytest's `pythonpath`), scripts put
that directory on `sys.path`.
"""

from simulated import WriteBudget

from simulated_exo_rest.demo import DEMO_SOURCE, demo_tenant
from simulated_exo_rest.errors import CONCURRENCY, NO_CHANGE, RestError
from simulated_exo_rest.faults import Fault
from simulated_exo_rest.state import AcceptedDomain, Mailbox, OrganizationConfig, User
from simulated_exo_rest.tenant import BASE, SYSTEM_MAILBOX, Counters, ExoRestTenant

__all__ = [
    "BASE",
    "CONCURRENCY",
    "DEMO_SOURCE",
    "NO_CHANGE",
    "SYSTEM_MAILBOX",
    "AcceptedDomain",
    "Counters",
    "ExoRestTenant",
    "Fault",
    "Mailbox",
    "OrganizationConfig",
    "RestError",
    "User",
    "WriteBudget",
    "demo_tenant",
]
