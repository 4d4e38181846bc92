"""Small HTML pieces for the notebook summaries (``_repr_html_``) of quotes and estimates."""
from __future__ import annotations


def summary_table(rows: list[tuple[str, str]]) -> str:
    """Label/value rows (already HTML-safe) as a two-column table, values right-aligned."""
    body = "".join(f"<tr><th style='text-align:left'>{label}</th><td style='text-align:right'>{value}</td></tr>"
                   for label, value in rows)
    return f"<table>{body}</table>"


def warn(text: str) -> str:
    """Text an analyst must not miss (rows not priced), in red."""
    return f"<span style='color:#b00'>{text}</span>"
