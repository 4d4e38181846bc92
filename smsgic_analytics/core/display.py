"""How things are shown: small HTML pieces for the notebook summaries (``_repr_html_``) of
quotes and estimates, and the words tables and charts share."""
from __future__ import annotations

# What a priced row without an operator means: the API names no operator ("Country ", with
# a trailing space) when it priced the number at its country's default rate, and /rates
# gives that rate as the row whose mnc is null.
COUNTRY_DEFAULT = "country default"


def summary_table(rows: list[tuple[str, str]]) -> str:
    """Label/value rows (already HTML-safe) as a two-column table, values right-aligned."""
    body = "".join(f"<tr><th style='text-align:left'>{label}</th><td style='text-align:right'>{value}</td></tr>"
                   for label, value in rows)
    return f"<table>{body}</table>"


def warn(text: str) -> str:
    """Text an analyst must not miss (rows not priced), in red."""
    return f"<span style='color:#b00'>{text}</span>"
