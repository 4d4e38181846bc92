"""The local SMSgic server (the *sandbox*): the documented API on 127.0.0.1.

>>> from smsgic_analytics import sandbox
>>> with sandbox.running(clock="2024-01-01T12:00:00Z") as url:  # doctest: +SKIP
...     control = sandbox.SandboxControl(url)
...     control.advance(120)

See README.md in this folder for options, rules and the test controls.
"""
from __future__ import annotations

from .control import SandboxControl, SandboxControlError
from .server import running

__all__ = ["SandboxControl", "SandboxControlError", "running"]
