"""Sending safely: a confirmed campaign (``campaign``), the send state machine (``state``) and
the ledger of every quote, send and balance snapshot (``ledger``, the SQL store only)."""
