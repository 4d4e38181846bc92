"""``AudienceInput``: the numbers part of the estimator and the sender, for files as people export them.

An upload is read whatever its delimiter and encoding (``audience.tidy.read_sheet``); the
phone column is guessed and can be changed; a default country reads national numbers; what
tidying would change ("412 numbers written as 447400123456.0 → 447400123456") is shown with
a sample and made only when the person presses **Tidy**.  A file that cannot be read clears
the numbers (no earlier audience's total stays on screen) and says why in words.

The app makes the pasted-text box and hands it over; this reads it and owns the upload,
column, country and tidying, and calls ``on_change()`` whenever ``values`` (the numbers to
use) changed.  A file's numbers replace the typed ones (the box is emptied and says so);
typing again forgets the file.
"""
from __future__ import annotations

import html
from typing import Callable

import ipywidgets as w
import pandas as pd

from ..audience.columns import guess_phone_column
from ..audience.tidy import Sheet, SheetError, Tidying, propose_tidying, read_sheet
from ..numbers.countries import english_name, region_names
from .panels import export_links, show_html
from .widgets import frame_html, note_html, parse_numbers, tag, upload_files

NO_REGION = "None (international numbers only)"
SAMPLE_ROWS = 5
ECHO_LIMIT = 5000  # numbers set from Python are written into the box up to this many


def region_options() -> list[tuple[str, str]]:
    """("Germany (DE)", "DE") for every region a number can belong to, by English name; none first."""
    regions = sorted(region_names(), key=lambda r: english_name(r).casefold())
    return [(NO_REGION, ""), *((f"{english_name(r)} ({r})", r) for r in regions)]


class AudienceInput:
    """The typed numbers ``box``, upload, phone column, default country and tidying for one app
    (CSS roles ``<app>-upload``, ``-column``, ``-region``, ``-tidy``, ``-tidy-note``, ``-file``)."""

    def __init__(self, app: str, on_change: Callable[[], None], box: w.Textarea) -> None:
        self._on_change = on_change
        self.box = box
        self._placeholder = box.placeholder
        self._writing = False  # this is writing the box: not the person typing
        self.sheet: Sheet | None = None
        self.error: SheetError | None = None
        self._source = pd.Series([], dtype=object)
        self._tidying = Tidying(pd.DataFrame(columns=["row", "before", "after", "reason"]))
        self._tidied = False
        self._quiet = False
        fit = {"layout": w.Layout(width="auto", max_width="100%", min_width="0"),
               "style": {"description_width": "initial"}}
        self.upload = tag(w.FileUpload(accept=".csv,.tsv,.txt,.xlsx", multiple=False, description="CSV / XLSX"),
                          app, "upload")
        self.column = tag(w.Dropdown(options=[], description="Column", disabled=True, **fit), app, "column")
        self.region = tag(w.Dropdown(options=region_options(), value="", description="National numbers from",
                                     **fit), app, "region")
        self.file_note = tag(w.HTML(), app, "file")
        self.tidy_note = tag(w.HTML(layout=w.Layout(min_width="0")), app, "tidy-note")
        self.tidy_button = tag(w.Button(description="Tidy them", icon="magic", button_style="info",
                                        layout=w.Layout(width="auto", display="none")), app, "tidy")
        self.widget = w.VBox([
            w.HBox([self.upload, self.column, self.region], layout=w.Layout(flex_flow="row wrap", min_width="0")),
            self.file_note,
            w.VBox([self.tidy_note, self.tidy_button], layout=w.Layout(min_width="0")),
        ], layout=w.Layout(min_width="0"))
        self.upload.observe(self._on_upload, "value")
        self.column.observe(self._on_column, "value")
        self.region.observe(lambda _: self._propose(), "value")
        self.tidy_button.on_click(lambda _: self.tidy())
        self.box.observe(self._on_typed, "value")

    # -- what the app reads ------------------------------------------------------------------

    @property
    def values(self) -> pd.Series:
        """The numbers to use: the source (upload column or pasted text), tidied if accepted."""
        return self._tidying.apply(self._source) if self._tidied else self._source

    @property
    def tidying(self) -> Tidying:
        """What tidying would change (or changed, once accepted)."""
        return self._tidying

    @property
    def tidied(self) -> bool:
        return self._tidied

    @property
    def default_region(self) -> str | None:
        return self.region.value or None

    # -- actions -----------------------------------------------------------------------------

    def set_source(self, values: pd.Series, *, from_upload: bool = False) -> None:
        """Numbers from the text box or Python (``from_upload=False`` forgets the uploaded file)."""
        if not from_upload:
            self.sheet, self.error = None, None
            self._quiet = True
            try:
                self.column.options, self.column.disabled = [], True
            finally:
                self._quiet = False
            show_html(self.file_note, "")
        self._source = values
        self._propose()

    def paste(self, text: str) -> None:
        """Numbers as pasted text (what typing in the box does): the box shows the text."""
        self._write(text, self._placeholder)
        self.set_source(parse_numbers(text))

    def echo(self, values: pd.Series) -> None:
        """Show numbers set from Python in the box (up to ``ECHO_LIMIT``; else say how many)."""
        if len(values) <= ECHO_LIMIT:
            self._write("\n".join("" if v is None else str(v) for v in values.tolist()), self._placeholder)
        else:
            self._write("", f"{len(values):,} numbers set from Python; paste here to replace them")

    def load(self, name: str, content: bytes) -> bool:
        """Read an upload (what choosing a file does); False, with the reason shown, when it cannot be read."""
        try:
            sheet = read_sheet(name, content)
        except SheetError as exc:
            self.error, self.sheet = exc, None
            self._write("", self._placeholder)  # the typed numbers go too: no earlier audience stays
            show_html(self.file_note, "")  # the app shows the error where it shows its others
            self._quiet = True
            try:
                self.column.options, self.column.disabled = [], True
            finally:
                self._quiet = False
            self._source = pd.Series([], dtype=object)
            self._propose()
            return False
        self.error, self.sheet = None, sheet
        self._write("", f"Numbers from {sheet.name}; type or paste here to use these instead")
        columns = list(sheet.frame.columns)
        self._quiet = True
        try:
            self.column.options = columns
            self.column.value = guess_phone_column(columns)
            self.column.disabled = False
        finally:
            self._quiet = False
        show_html(self.file_note, note_html(f"{sheet.describe()}; numbers from column “{self.column.value}”."))
        self.set_source(sheet.frame[self.column.value], from_upload=True)
        return True

    def tidy(self) -> None:
        """Make the proposed changes (what pressing Tidy does)."""
        if len(self._tidying) and not self._tidied:
            self._tidied = True
            self._render()
            self._on_change()

    # -- events ------------------------------------------------------------------------------

    def _write(self, text: str, placeholder: str) -> None:
        self._writing = True
        try:
            self.box.value, self.box.placeholder = text, placeholder
        finally:
            self._writing = False

    def _on_typed(self, change: dict) -> None:
        if not self._writing:
            self.box.placeholder = self._placeholder
            self.set_source(parse_numbers(change["new"]))

    def _on_upload(self, change: dict) -> None:
        files = upload_files(change["new"])
        if files:
            self.load(*files[0])

    def _on_column(self, change: dict) -> None:
        if not self._quiet and self.sheet is not None and change["new"] is not None:
            show_html(self.file_note, note_html(f"{self.sheet.describe()}; numbers from column “{change['new']}”."))
            self.set_source(self.sheet.frame[change["new"]], from_upload=True)

    def _propose(self) -> None:
        self._tidying = propose_tidying(self._source, self.region.value or None)
        self._tidied = False
        self._render()
        self._on_change()

    def _render(self) -> None:
        changes = self._tidying.changes
        if not len(changes):
            show_html(self.tidy_note, "")
            self.tidy_button.layout.display = "none"
            return
        lines = "".join(f"<li>{html.escape(line)}</li>" for line in self._tidying.summary())
        sample = frame_html(changes.head(SAMPLE_ROWS), max_rows=SAMPLE_ROWS)
        if self._tidied:
            head = f"<b style='color:#047857'>Tidied {len(changes):,} number(s)</b>:"
        else:
            head = (f"<b style='color:#92400e'>{len(changes):,} number(s) can be tidied</b> "
                    "(refused as they are written; press the button to use them):")
        show_html(self.tidy_note, f"{head}<ul style='margin:2px 0 2px 1.2em;padding:0'>{lines}</ul>{sample}"
                                  f"{export_links(changes, 'tidying', 'Every change')}")
        self.tidy_button.layout.display = "none" if self._tidied else ""
        self.tidy_button.description = f"Tidy {len(changes):,} number(s)"
