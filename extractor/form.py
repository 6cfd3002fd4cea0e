"""The normalized record of one ingested file: what the store keeps and the checks read."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Value = Decimal | str | None

OK, FLAGGED, FAILED = "ok", "flagged", "failed"
# A status as every output shows it to a person (list, show, reports, the review station).
STATUS_ZH = {OK: "通过", FLAGGED: "需复核", FAILED: "读取失败"}
TOTAL_KINDS = ("total", "bonus", "penalty", "grand")


@dataclass
class Finding:
    """A doubt raised while reading (layout, extract): the checks turn it into a discrepancy of this kind.
    Kept with the record, so re-checking after a review raises it again."""

    kind: str
    message: str
    side: str | None = None  # self | inspector, for item-level findings about one score cell


@dataclass
class ItemResult:
    """One rubric item as read from a form (all None where the form has no row for it)."""

    code: str
    category: str  # category name
    label: str  # canonical label
    max: Decimal | None
    scoring: str = "points"
    max_source: str | None = "rubric"  # rubric | form | None
    printed_max: str | None = None  # the 分值 cell's text over this item's row
    group_max: Decimal | None = None  # the rubric's 分值 for the item's group
    self: Value = None
    inspector: Value = None
    self_raw: str | None = None
    inspector_raw: str | None = None
    self_note: str | None = None  # a remark written beside the number ("5（已整改）" -> 已整改)
    inspector_note: str | None = None
    self_kind: str | None = None  # number | judgment | blank | text
    inspector_kind: str | None = None
    raw_label: str | None = None
    match_score: float | None = None
    provenance: dict[str, Any] | None = None
    corrected: dict[str, Any] = field(default_factory=dict)  # field -> extracted value it replaces
    findings: list[Finding] = field(default_factory=list)  # doubts raised while reading its cells
    # Where each side's value was read, and the whole row as printed (for evidence): cell dicts with table, row,
    # col, rowspan, colspan (0-based), page (1-based), bbox [x0, top, x1, bottom] in points, confidence, text, and
    # in row_cells the column role each cell took (label, max, self, inspector, note:self, …).
    self_cell: dict[str, Any] | None = None
    inspector_cell: dict[str, Any] | None = None
    row_cells: list[dict[str, Any]] | None = None

    @property
    def present(self) -> bool:
        return self.raw_label is not None


@dataclass
class ExtraRow:
    """A body row that took no item: unmatched, or a duplicate of an item another row took."""

    kind: str  # unmatched | duplicate
    text: str
    self_raw: str
    inspector_raw: str
    match_score: float
    item: str | None = None  # the duplicated item's code
    provenance: dict[str, Any] | None = None


@dataclass
class PrintedTotal:
    """A totals row as printed: the 100 row, 加分项, 减分项, 合计, or a category's 小计."""

    kind: str
    self: Value = None
    inspector: Value = None
    self_raw: str = ""
    inspector_raw: str = ""
    category: str | None = None  # category code, for subtotals
    provenance: dict[str, Any] | None = None


@dataclass
class Discrepancy:
    item: str | None
    kind: str
    severity: str
    message: str
    accepted: dict[str, Any] | None = None
    # Structured fields, so no reader of a discrepancy parses its message:
    side: str | None = None  # self | inspector, when the finding concerns one side
    row: dict[str, Any] | None = None  # provenance (table/row/page, 0-based) of the row it is about
    total: str | None = None  # total | bonus | penalty | grand | subtotal, for arithmetic findings
    category: str | None = None  # the category name, for subtotal_mismatch


@dataclass
class Form:
    source: str
    sha256: str
    status: str = OK
    error: str | None = None
    rubric: str | None = None
    rubric_score: float | None = None
    institution: str | None = None
    fill_date: str | None = None
    header: dict[str, int | None] = field(default_factory=dict)
    items: list[ItemResult] = field(default_factory=list)
    printed: list[PrintedTotal] = field(default_factory=list)
    extra_rows: list[ExtraRow] = field(default_factory=list)
    has_inspector: bool = False
    kind: str | None = None  # the parser that read it: docx, pdf, ...
    findings: list[Finding] = field(default_factory=list)  # form-level doubts raised while reading
    discrepancies: list[Discrepancy] = field(default_factory=list)
    # The file on disk at ingest time (absolute; for an archive member the container's path), to show evidence.
    path: str | None = None
    # The score tables as read: table, n_rows, n_cols, col_x, page, header_rows, header_cells (cell dicts as in
    # ItemResult.row_cells), header_from (the table whose header a headerless continuation uses).
    tables: list[dict[str, Any]] = field(default_factory=list)

    def printed_total(self, kind: str) -> PrintedTotal | None:
        return next((p for p in self.printed if p.kind == kind), None)
