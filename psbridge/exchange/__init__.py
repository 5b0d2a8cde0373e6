"""Exchange Online (through a Windows jump host) and Exchange Server wrappers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.exchange.connection import (
        ExoConnection,
        connect_exchange_online,
        connect_exchange_server,
        exchange_server_options,
    )
    from psbridge.exchange.functions import (
        clear_previous_mailbox_info,
        get_accepted_domains,
        get_mailbox,
        get_organization_config,
        get_server_mail_user,
        get_server_mailbox,
        get_server_remote_mailbox,
        get_user,
        list_mailboxes,
        set_mailbox_attributes,
        set_mailbox_cloud_managed,
        set_mailbox_email_addresses,
        set_organization_config,
    )
    from psbridge.exchange.mailboxes import (
        MailboxListing,
        iter_mailboxes,
    )
    from psbridge.exchange.models import (
        AcceptedDomain,
        AcceptedDomains,
        DomainType,
        Mailbox,
        MailboxAttributes,
        OrganizationConfig,
        Recipient,
        RecipientType,
        RecipientTypeDetails,
        ServerRecipient,
        User,
    )
    from psbridge.exchange.rules import (
        is_truncation_warning,
        micro_delays,
        opath_filter,
        powershell_literal,
    )

__all__ = [
    "AcceptedDomain",
    "AcceptedDomains",
    "DomainType",
    "ExoConnection",
    "Mailbox",
    "MailboxAttributes",
    "MailboxListing",
    "OrganizationConfig",
    "Recipient",
    "RecipientType",
    "RecipientTypeDetails",
    "ServerRecipient",
    "User",
    "clear_previous_mailbox_info",
    "connect_exchange_online",
    "connect_exchange_server",
    "exchange_server_options",
    "get_accepted_domains",
    "get_mailbox",
    "get_organization_config",
    "get_server_mail_user",
    "get_server_mailbox",
    "get_server_remote_mailbox",
    "get_user",
    "is_truncation_warning",
    "iter_mailboxes",
    "list_mailboxes",
    "micro_delays",
    "opath_filter",
    "powershell_literal",
    "set_mailbox_attributes",
    "set_mailbox_cloud_managed",
    "set_mailbox_email_addresses",
    "set_organization_config",
]
_LAZY = {
    "AcceptedDomain": "psbridge.exchange.models",
    "AcceptedDomains": "psbridge.exchange.models",
    "DomainType": "psbridge.exchange.models",
    "ExoConnection": "psbridge.exchange.connection",
    "Mailbox": "psbridge.exchange.models",
    "MailboxAttributes": "psbridge.exchange.models",
    "MailboxListing": "psbridge.exchange.mailboxes",
    "OrganizationConfig": "psbridge.exchange.models",
    "Recipient": "psbridge.exchange.models",
    "RecipientType": "psbridge.exchange.models",
    "RecipientTypeDetails": "psbridge.exchange.models",
    "ServerRecipient": "psbridge.exchange.models",
    "User": "psbridge.exchange.models",
    "clear_previous_mailbox_info": "psbridge.exchange.functions",
    "connect_exchange_online": "psbridge.exchange.connection",
    "connect_exchange_server": "psbridge.exchange.connection",
    "exchange_server_options": "psbridge.exchange.connection",
    "get_accepted_domains": "psbridge.exchange.functions",
    "get_mailbox": "psbridge.exchange.functions",
    "get_organization_config": "psbridge.exchange.functions",
    "get_server_mail_user": "psbridge.exchange.functions",
    "get_server_mailbox": "psbridge.exchange.functions",
    "get_server_remote_mailbox": "psbridge.exchange.functions",
    "get_user": "psbridge.exchange.functions",
    "is_truncation_warning": "psbridge.exchange.rules",
    "iter_mailboxes": "psbridge.exchange.mailboxes",
    "list_mailboxes": "psbridge.exchange.functions",
    "micro_delays": "psbridge.exchange.rules",
    "opath_filter": "psbridge.exchange.rules",
    "powershell_literal": "psbridge.exchange.rules",
    "set_mailbox_attributes": "psbridge.exchange.functions",
    "set_mailbox_cloud_managed": "psbridge.exchange.functions",
    "set_mailbox_email_addresses": "psbridge.exchange.functions",
    "set_organization_config": "psbridge.exchange.functions",
}
__getattr__ = _lazy.exporter(__name__, globals(), _LAZY)
