# -*- coding: utf-8 -*-
# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""The attributes every psbridge.hybrid module shares: each is an action plugin that runs on the controller
and reaches its Windows host itself (plugins/plugin_utils/action.py)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """psbridge.hybrid.attributes: where the module runs; .info: a module that only reads."""

    DOCUMENTATION = r"""
attributes:
  platform:
    platforms: windows
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
"""

    INFO = r"""
attributes:
  check_mode:
    support: full
    details: Reads only, in check mode as in a normal run.
  diff_mode:
    support: none
"""
