"""Exchange Online (through a Windows jump host, or over REST) and Exchange Server wrappers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psbridge import _lazy

if TYPE_CHECKING:
    from psbridge.exchange.bulk import BatchItem as BatchItem
    from psbridge.exchange.bulk import BatchResult as BatchResult
    from psbridge.exchange.bulk import MailboxOutcome as MailboxOutcome
    from psbridge.exchange.bulk import get_mailbox_identities as get_mailbox_identities
    from psbridge.exchange.bulk import set_cloud_managed_batch as set_cloud_managed_batch
    from psbridge.exchange.connection import ExoConnection as ExoConnection
    from psbridge.exchange.connection import connect_exchange_online as connect_exchange_online
    from psbridge.exchange.connection import connect_exchange_server as connect_exchange_server
    from psbridge.exchange.connection import exchange_server_options as exchange_server_options
    from psbridge.exchange.functions import clear_previous_mailbox_info as clear_previous_mailbox_info
    from psbridge.exchange.functions import get_accepted_domains as get_accepted_domains
    from psbridge.exchange.functions import get_mailbox as get_mailbox
    from psbridge.exchange.functions import get_organization_config as get_organization_config
    from psbridge.exchange.functions import get_server_mail_user as get_server_mail_user
    from psbridge.exchange.functions import get_server_mailbox as get_server_mailbox
    from psbridge.exchange.functions import get_server_remote_mailbox as get_server_remote_mailbox
    from psbridge.exchange.functions import get_user as get_user
    from psbridge.exchange.functions import list_mailboxes as list_mailboxes
    from psbridge.exchange.functions import set_mailbox_attributes as set_mailbox_attributes
    from psbridge.exchange.functions import set_mailbox_cloud_managed as set_mailbox_cloud_managed
    from psbridge.exchange.functions import set_mailbox_email_addresses as set_mailbox_email_addresses
    from psbridge.exchange.functions import set_organization_config as set_organization_config
    from psbridge.exchange.mailboxes import MailboxListing as MailboxListing
    from psbridge.exchange.mailboxes import iter_mailboxes as iter_mailboxes
    from psbridge.exchange.models import AcceptedDomain as AcceptedDomain
    from psbridge.exchange.models import AcceptedDomains as AcceptedDomains
    from psbridge.exchange.models import DomainType as DomainType
    from psbridge.exchange.models import Mailbox as Mailbox
    from psbridge.exchange.models import MailboxAttributes as MailboxAttributes
    from psbridge.exchange.models import OrganizationConfig as OrganizationConfig
    from psbridge.exchange.models import Recipient as Recipient
    from psbridge.exchange.models import RecipientType as RecipientType
    from psbridge.exchange.models import RecipientTypeDetails as RecipientTypeDetails
    from psbridge.exchange.models import ServerRecipient as ServerRecipient
    from psbridge.exchange.models import User as User
    from psbridge.exchange.rollout import RolloutItem as RolloutItem
    from psbridge.exchange.rollout import RolloutProgress as RolloutProgress
    from psbridge.exchange.rollout import RolloutReport as RolloutReport
    from psbridge.exchange.rollout import rollout_cloud_managed as rollout_cloud_managed
    from psbridge.exchange.rollout_plan import RolloutPlan as RolloutPlan
    from psbridge.exchange.rollout_plan import plan_rollout as plan_rollout
    from psbridge.exchange.rules import is_truncation_warning as is_truncation_warning
    from psbridge.exchange.rules import micro_delays as micro_delays
    from psbridge.exchange.rules import opath_filter as opath_filter
    from psbridge.exchange.rules import powershell_literal as powershell_literal

__getattr__, __dir__ = _lazy.exporter(__name__, globals())
