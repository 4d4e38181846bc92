"""The dashboard's demo history: five campaigns over three days, sent once -- never by viewing.

``make dashboard`` serves notebooks/dashboard.ipynb, a page that only reads.  What it shows on
a fresh sandbox is made here, by the launcher, before Voilà starts (``seed_lab_history``): once
per sandbox database, only when the lab's own account has no sendings yet.  The campaigns are
placed in the past: the sandbox clock is set back, the campaigns go out with the clock moving
between them, and the clock is put back where it was -- so the history ends before "now" and
the clock of the lab sandbox is where it would have been without it.

Without a launcher (nbval, ``make report``) ``dashboard_session`` gives the page an in-process
sandbox of its own (fixed seed, frozen clock, temporary files) with the same history, so the
committed notebook shows what ``make dashboard`` shows.

>>> client, control = dashboard_session()   # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import io
import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..client import Client, connect
from ..core.config import ENV_TOKEN
from ..numbers.samples import sample_numbers
from ..sending.ledger import Ledger
from .notebook import NotebookSession, notebook_session

if TYPE_CHECKING:
    from ..sandbox import SandboxControl

SEED = 17
CLOCK = "2026-03-02T09:00:00Z"  # the in-process sandbox's frozen clock (nbval repeats the page)
HISTORY_HOURS = 25  # the sandbox clock moves this far while the campaigns go out
SETTLE_HOURS = 24  # then this far, so every campaign (the scheduled ones too) reaches a final status
OPT_OUT = " Reply STOP to opt out"


def send_history(client: Client, control: "SandboxControl") -> list[int]:
    """Send the five demo campaigns from three senders, two of them scheduled, moving the
    sandbox clock ``HISTORY_HOURS`` forward between them; returns their sending ids.

    Sandbox only: the numbers are generated, never text them for real.
    """
    europe = sample_numbers(150, seed=1, regions=["GB", "DE", "FR", "ES", "IT"])
    baltics = sample_numbers(40, seed=2, regions=["LV", "LT", "EE"])
    nordics = sample_numbers(80, seed=3, regions=["DK", "SE", "FI", "NO"])
    start = control.now()
    ids = []

    def send(message: str, audience: list[str], sender: str, scheduled_at: datetime | None = None) -> None:
        ids.append(client.send(message + OPT_OUT, audience, sender, scheduled_at=scheduled_at,
                               confirm=True).sending_id)

    send("Spring sale starts today: 20% off everything.", europe, "MegaShop")
    control.advance(3 * 3600)
    send("Our Riga store opens on Saturday - come and say hello!", baltics, "DSTLCKDM")
    send("Last day of the spring sale: 20% off ends at midnight.", europe, "MegaShop",
         scheduled_at=start + timedelta(days=1, hours=-1))
    control.advance(22 * 3600)
    send("Flash sale: 2 hours only, 30% off outdoor gear.", nordics, "MEGA")
    send("Thank you for shopping with us this spring!", europe[:60], "MegaShop", scheduled_at=start + timedelta(days=2))
    return ids


def seed_lab_history(base_url: str, token: str, admin_token: str, cache_dir: str) -> list[int]:
    """The launcher's step before ``make dashboard``: the demo history on the lab's own account
    of the sandbox at ``base_url``, in the past, unless that account has sendings already
    (then nothing is sent: []).  The sandbox clock ends where it was (plus the seconds this took)."""
    from ..sandbox import SandboxControl

    control = SandboxControl(base_url, admin_token=admin_token)
    with connect(token=token, base_url=base_url, cache_dir=cache_dir) as client:
        if len(client.sendings()):
            return []
        client.ledger = Ledger.for_settings(client.settings, clock=control.now)
        offset = (control.now() - datetime.now(UTC)).total_seconds()
        back = timedelta(hours=HISTORY_HOURS + SETTLE_HOURS).total_seconds()
        control.set_offset(offset - back)
        try:
            return send_history(client, control)
        finally:
            control.set_offset(offset)


def dashboard_session(seed: int = SEED, clock: str = CLOCK) -> NotebookSession:
    """The dashboard page's session, quietly: the account SMSGIC_TOKEN names (under ``make
    dashboard`` the lab sandbox, seeded by the launcher) -- nothing sent; without a token an
    in-process sandbox of its own with the demo history, settled."""
    with contextlib.redirect_stdout(io.StringIO()):
        session = notebook_session(seed=seed, clock=clock)
    if not os.environ.get(ENV_TOKEN) and session.control is not None:  # a throw-away sandbox of its own
        send_history(session.client, session.control)
        session.control.advance(SETTLE_HOURS * 3600)
    return session
