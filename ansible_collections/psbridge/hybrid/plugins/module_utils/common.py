# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""What every psbridge.hybrid plugin shares: the guarded import of psbridge, and psbridge's answers as task results.

The plugins are action plugins: they run in the controller's Python, where psbridge must be installed
(`pip install psbridge`, or the collection's requirements.txt in an execution environment). psbridge is imported
here, guarded, so that ansible-doc, ansible-test's import test and a controller without psbridge get the
`missing_required_lib` message instead of a traceback.

Results:
- a psbridge model becomes `model.model_dump(mode="json")`: snake_case keys, times in ISO 8601, versions and
  enums as strings (`model_result`);
- a desired-state `Change` becomes `changed`, `before`, `after` and, when the task asks for it, `diff`;
  in check mode `changed` is the library's dry-run verdict `would_change` (nothing was sent) (`change_result`);
- a psbridge error becomes a failed result whose `msg` starts with the error class, and whose `error` holds the
  class, the exit code the psbridge CLI would have given and its meaning, whether retrying may help, and the
  error's structured fields (target, command, error_id, category, ...), every secret redacted (`error_result`).
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    from psbridge.errors import ExitCode, PsbridgeError
    from psbridge.redaction import redact
except ImportError:
    HAS_PSBRIDGE = False
    PSBRIDGE_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PSBRIDGE = True
    PSBRIDGE_IMPORT_ERROR = None

PSBRIDGE_REQUIREMENT = "psbridge"


def missing_psbridge_result():
    """The failed result of a task whose controller has no psbridge (Ansible's missing_required_lib wording)."""
    return {
        "failed": True,
        "msg": missing_required_lib(PSBRIDGE_REQUIREMENT, reason="on the controller (psbridge.hybrid runs there)"),
        "exception": PSBRIDGE_IMPORT_ERROR,
    }


def model_result(model):
    """A psbridge model (or a list of them) as plain data for a task result."""
    if isinstance(model, (list, tuple)):
        return [model_result(item) for item in model]
    return model.model_dump(mode="json")


def change_result(change, check_mode, diff):
    """A psbridge `Change` as a task result: `changed` (in check mode: would it change), before, after, diff."""
    before, after = model_result(change.before), model_result(change.after)
    result = {
        "changed": bool(change.would_change if check_mode else change.changed),
        "before": before,
        "after": after,
    }
    if diff:
        result["diff"] = {"before": before, "after": after}
    return result


def error_result(exc, secrets=()):
    """A failed task result for an exception raised while psbridge worked; secrets are redacted everywhere."""
    secrets = [secret for secret in secrets if secret]
    if HAS_PSBRIDGE and isinstance(exc, PsbridgeError):
        exc.redact(secrets)
        fields = exc.fields()
        code = exc.exit_code
        transient = bool(getattr(exc, "transient", False))
    else:  # not psbridge's own: a bug, or a library below psbridge that psbridge did not translate
        fields = {"error": type(exc).__name__, "message": redact(str(exc), secrets) if HAS_PSBRIDGE else str(exc)}
        code, transient = (ExitCode.INTERNAL if HAS_PSBRIDGE else 70), False
    error = dict(fields)
    error["exit_code"] = int(code)
    error["exit_meaning"] = code.name.lower() if hasattr(code, "name") else "internal"
    error["transient"] = transient
    return {"failed": True, "msg": "%s: %s" % (fields["error"], fields["message"]), "error": error}
