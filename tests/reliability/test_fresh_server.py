"""A fresh server behind the same URL and token (issue 18's send-safety story): the sandbox
process is stopped and a NEW one starts on a new, empty db on the same port.  Seen from the
outside, over HTTP, it is another server: the account is back to its opening balance, the
history is empty, and sending ids start again -- so an id a client remembers can name a
different sending now.
"""
from __future__ import annotations

from decimal import Decimal

import requests
from reliability_support import SandboxProcess, server_balance, server_sendings

from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import SandboxControl

TOKEN = "fresh-server-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DK = "4591234567"  # a Danish mobile number


def send(url: str, message: str) -> int:
    answer = requests.post(url + spec.SENDINGS, headers=AUTH, timeout=30,
                           json={"message": message, "recipients": [DK], "sender": "INFO"})
    assert answer.status_code == 200, answer.text
    return answer.json()["sending_id"]


def test_a_fresh_server_behind_the_same_url_hands_out_the_same_ids_again(tmp_path):
    with SandboxProcess(tmp_path / "first.sqlite", tokens=[TOKEN]) as server:
        url = server.url
        first = [send(url, "old server, first"), send(url, "old server, second")]
        assert first[1] == first[0] + 1
        assert first[0] == 301  # the README: "Sending ids are global, from 301" (the docs' first example id)
        old_balance = server_balance(url, TOKEN)
        assert old_balance < Decimal("450.000")
        SandboxControl(url).set_balance(TOKEN, "7")

        assert server.start_fresh(tmp_path / "second.sqlite") == url
        assert server.db == tmp_path / "second.sqlite"

        # Same URL and token, another server: opening balance, no history, ids from the start.
        assert server_balance(url, TOKEN) == Decimal("450.000")
        assert server_sendings(url, TOKEN) == []
        gone = requests.get(f"{url}/sendings/{first[1]}", headers=AUTH, timeout=30)
        assert (gone.status_code, gone.json()) == (404, {"message": f"No query results for model {first[1]}"})
        again = send(url, "new server, first")
        assert again == first[0]
        listed = server_sendings(url, TOKEN)
        assert [(s["id"], s["text"]) for s in listed] == [(first[0], "new server, first")]
        # the admin token carries over, so the controls still answer
        assert SandboxControl(url).faults() == []
    # the first db is untouched by the second server
    assert (tmp_path / "first.sqlite").exists()
