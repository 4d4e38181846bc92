"""Spend and charts: spend from the ledger joined with /sendings (``spend``), and plotly
figures (``charts``, ``maps``, sharing ``figures``)."""
