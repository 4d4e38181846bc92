"""A notebook kernel in a child process, for the tests of issue 18's send pipeline.

``python kernel_child.py CONFIG.json``: connects with the config's token, URL and cache folder
(the machine-wide state folder comes from SMSGIC_STATE_DIR in the environment, as a notebook
would get it), warms up (imports, numbering, the HTTP connection), touches ``ready``, waits for
the ``go`` file to appear (the barrier every child of a test waits on), sleeps ``delay``
seconds, then does its ``task`` and writes what happened to ``out`` as JSON.

Tasks:
``send``       ``client.send(message, numbers, sender, confirm=True)``: {"outcome": "sent",
               "sending_id", "total"} or {"outcome": <error class>, "message"}.
``calculate``  ``client.calculate(f"{message} {i}", numbers)`` for i in range(``count``), each a
               new text (no cache hit): {"outcome": "priced", "times": [wall time after each]}.
``hold_lock``  hold the account's send lock (``sending.guard.AccountLock``) for ``seconds``.
"""
from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def main(config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    out: dict[str, Any] = {}
    try:
        import smsgic_analytics as sa

        client = sa.connect(token=cfg["token"], base_url=cfg["url"], cache_dir=cfg["cache_dir"],
                            **cfg.get("settings", {}))
        sa.normalize_recipients(cfg.get("numbers") or ["37129123456"])
        client.status()
        if cfg["task"] == "calculate":
            client.rates()  # cached: the timed phase asks calculate only
            client.currency()
        Path(cfg["ready"]).touch()
        deadline = time.monotonic() + 120
        while not Path(cfg["go"]).exists():
            if time.monotonic() > deadline:
                raise TimeoutError("no go signal")
            time.sleep(0.002)
        time.sleep(cfg.get("delay", 0))
        out["started"] = time.time()
        if cfg["task"] == "send":
            try:
                result = client.send(cfg["message"], cfg["numbers"], cfg["sender"], confirm=True)
                out.update(outcome="sent", sending_id=result.sending_id, total=str(result.total))
            except sa.SMSgicError as exc:
                out.update(outcome=type(exc).__name__, message=str(exc))
        elif cfg["task"] == "calculate":
            times = []
            for i in range(cfg["count"]):
                client.calculate(f"{cfg['message']} {i}", cfg["numbers"], progress=False)
                times.append(time.time())
            out.update(outcome="priced", times=times)
        elif cfg["task"] == "hold_lock":
            from smsgic_analytics.sending.guard import AccountLock

            settings = client.settings
            with AccountLock(settings.state_dir, settings.account, timeout=30).held("a test holding the lock"):
                Path(cfg["ready"] + ".held").touch()
                time.sleep(cfg["seconds"])
            out.update(outcome="held")
        client.close()
    except BaseException:  # noqa: BLE001 - reported to the parent
        out.update(outcome="crashed", message=traceback.format_exc())
    out["ended"] = time.time()
    Path(cfg["out"]).write_text(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
