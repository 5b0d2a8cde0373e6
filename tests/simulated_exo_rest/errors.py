"""What the simulated InvokeCommand endpoint answers when it refuses, as `RestError`s.

A cmdlet's error is `{"error": {"code", "message": "Error executing cmdlet", "details": [{"code": "Client",
"target": "", "message": "<ExCode>|<exception type>|<text>"}], "innererror": {"message", "type",
"internalException": {"message", "type"}}}}`, the shape public clients parse (third-party:
GreyCorbel/ExoHelper `Commands/Internal/Get-ExoException.ps1`, KelvinTegelaar/CIPP-API
`Modules/CIPPCore/Public/GraphHelper/New-ExoRequest.ps1`; Microsoft documents none). Statuses: 404
`NotFound` for a not-found object (seen in public code), 500 `InternalServerError` for a cmdlet that ran
and failed (the code public captures show beside "Error executing cmdlet"), 400 `BadRequest` for a call
that could not bind (an assumption), 401 for a missing token. Texts marked SYNTHETIC below have no public
capture: their wording is ours, their shape and exception type are Exchange's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DC = "CY4PR15A005DC12.NAMPR15A005.PROD.OUTLOOK.COM"
SERVICE_EXCEPTION = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
CONCURRENCY = "You have reached the maximum number of concurrent requests per tenant. Please wait and try again."
NO_CHANGE = "The command completed successfully but no settings of '{id}' have been modified."


class RestError(Exception):
    """A refusal: the HTTP status, the body (JSON, or text as the concurrency refusal comes), extra headers."""

    def __init__(self, status: int, body: Mapping[str, Any] | str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def cmdlet_error(status: int, code: str, ex_code: str, exception_type: str, text: str) -> RestError:
    """A cmdlet's error record, as the endpoint wraps it."""
    return RestError(status, {"error": {
        "code": code, "message": "Error executing cmdlet",
        "details": [{"code": "Client", "target": "", "message": f"{ex_code}|{exception_type}|{text}"}],
        "innererror": {"message": text, "type": SERVICE_EXCEPTION,
                       "internalException": {"message": text, "type": exception_type}},
    }})  # fmt: skip


def plain(status: int, code: str, message: str) -> RestError:
    """An error the endpoint raises itself (no cmdlet record): code and message only."""
    return RestError(status, {"error": {"code": code, "message": message}})


_NOT_FOUND = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
_TASK = "Microsoft.Exchange.Management.Tasks.RecipientTaskException"
_BINDING = "System.Management.Automation.ParameterBindingException"


def not_found(identity: str) -> RestError:
    text = f"The operation couldn't be performed because object '{identity}' couldn't be found on '{DC}'."
    return cmdlet_error(404, "NotFound", "Ex6F9304", _NOT_FOUND, text)


def ambiguous(identity: str) -> RestError:
    text = f"The operation couldn't be performed because '{identity}' matches multiple entries."
    return cmdlet_error(404, "NotFound", "Ex9E65A2", _NOT_FOUND, text)


def synced(identity: str, cmdlet: str, parameters: list[str]) -> RestError:
    """The write-scope error of an attribute mastered on-premises (docs/exchange.md, Errors)."""
    text = (
        f"The operation on mailbox \"{identity}\" failed because it's out of the current user's write scope. The "
        f"action '{cmdlet}', '{', '.join(parameters)}', can't be performed on the object '{identity}' because the "
        "object is being synchronized from your on-premises organization. This action should be performed on the "
        "object in your on-premises organization."
    )
    return cmdlet_error(500, "InternalServerError", "", _TASK, text)


def task(text: str) -> RestError:
    """SYNTHETIC text: a RecipientTaskException the cmdlet raises (e.g. removing the primary address)."""
    return cmdlet_error(500, "InternalServerError", "", _TASK, text)


def unknown_parameter(name: str) -> RestError:
    text = f"A parameter cannot be found that matches parameter name '{name}'."
    return cmdlet_error(400, "BadRequest", "", _BINDING, text)


def bad_parameter(cmdlet: str, name: str, value: Any) -> RestError:
    """SYNTHETIC text: a value the parameter's type does not take."""
    text = f"Cannot process argument transformation on parameter '{name}' of {cmdlet}. Cannot convert value {value!r}."
    return cmdlet_error(400, "BadRequest", "", _BINDING, text)


def bad_filter(text: str, position: int) -> RestError:
    message = (
        'Cannot bind parameter \'Filter\' to the target. Exception setting "Filter": "Invalid filter syntax. For a '
        f'description of the filter parameter syntax see the command help.\n"{text}" at position {position + 1}."'
    )
    return cmdlet_error(400, "BadRequest", "", _BINDING, message)


def unfilterable(text: str, name: str) -> RestError:
    """SYNTHETIC text: a property outside the filterable list (or outside this simulation's subset)."""
    message = (
        f"Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"'{name}' is not a "
        f'recognized filterable property. For a list of filterable properties see the command help.\n"{text}"'
    )
    return cmdlet_error(400, "BadRequest", "", _BINDING, message)


def unknown_cmdlet(name: str) -> RestError:
    """SYNTHETIC shape: a cmdlet the endpoint does not run (PowerShell's text for an unknown command)."""
    text = (
        f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. "
        "Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
    )
    return cmdlet_error(400, "BadRequest", "", "System.Management.Automation.CommandNotFoundException", text)


def invalid_request(message: str) -> RestError:
    """SYNTHETIC: the simulation's refusal of a request not on the wire public clients send."""
    return plain(400, "BadRequest", message)


def unauthorized(message: str) -> RestError:
    return plain(401, "Unauthorized", message)


def throttled(headers: Mapping[str, str]) -> RestError:
    """SYNTHETIC body: HTTP 429 past the tenant's write pace (the status and headers are the public facts)."""
    return RestError(429, {"error": {"code": "TooManyRequests", "message": "Too Many Requests"}}, headers)


def too_many_concurrent(headers: Mapping[str, str]) -> RestError:
    """HTTP 429 past the concurrency cap, its text as the body (ExoHelper compares the body text with it)."""
    return RestError(429, CONCURRENCY, headers)


def unavailable() -> RestError:
    """SYNTHETIC body: a 503 from the front end (a fault hook's)."""
    return plain(503, "ServiceUnavailable", "The service is temporarily unavailable. Please try again later.")
