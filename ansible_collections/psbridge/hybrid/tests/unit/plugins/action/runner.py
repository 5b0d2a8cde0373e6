# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""Run an action plugin in-process, as a task would (no ansible-playbook, no endpoint), and where the
repository's recordings are."""

from __future__ import annotations

import os
from unittest.mock import MagicMock

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

REPOSITORY = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 7))
RECORDINGS = os.path.join(REPOSITORY, "recorded_sessions")
DEMO = os.path.join(RECORDINGS, "demo")
ANSIBLE = os.path.join(RECORDINGS, "ansible")


def run(action_class, args, check_mode=False, diff=False, task_vars=None, host="connect01"):
    """The result of one task of `action_class` with `args`, for inventory host `host` (or `task_vars`)."""
    task = MagicMock(args=args, check_mode=check_mode, diff=diff, async_val=0)
    connection = MagicMock()
    connection._shell.tmpdir = None  # pylint: disable=protected-access
    loader = DataLoader()
    action = action_class(task, connection, MagicMock(), loader=loader, templar=Templar(loader=loader),
                          shared_loader_obj=None)
    return action.run(task_vars=task_vars or {"inventory_hostname": host})
