"""The format-neutral document model every parser produces.

A parser yields a Document: its tables as grids of Cells (a merged cell is one
Cell with a row/column span, never a repeated value) and its free text lines
(paragraphs outside tables, or page text), each with provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Cell:
    """One cell of a table grid: top-left at (row, col), covering rowspan x colspan."""

    text: str
    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1
    page: int | None = None  # 1-based, for PDFs and scans
    bbox: tuple[float, float, float, float] | None = None  # x0, top, x1, bottom in points
    confidence: float | None = None  # OCR confidence 0-1, None when read from a text layer
    doubt: str | None = None  # why the parser is unsure of this text (e.g. it came from across a page break)
    doubt_kind: str | None = None  # the finding the doubt raises (default low_confidence_value; formula_uncached)
    # Spreadsheets: the cell's A1 address with its sheet ("自评表!F12"), whether its row or column is hidden, and
    # the number format its value was shown with (when not General).
    ref: str | None = None
    hidden: bool = False
    number_format: str | None = None
    rotation: int = 0  # scans: quarter turns clockwise (degrees) given to the page image to read it; bbox is upright
    rectified: str | None = None  # photos: straightened by the "paper" edge or the table's "frame"; bbox on that page

    def covers(self, row: int, col: int) -> bool:
        return self.row <= row < self.row + self.rowspan and self.col <= col < self.col + self.colspan


@dataclass
class Table:
    """A table: its cells and grid size; index is its order in the document (0-based)."""

    index: int
    cells: list[Cell]
    n_rows: int
    n_cols: int
    page: int | None = None
    # Grid column edges left to right (n_cols + 1 values, in points) where the producer states them
    # (Word's w:tblGrid); layout then compares cells by x-extent instead of grid index.
    col_x: list[float] | None = None

    def cell_extent(self, cell: Cell) -> tuple[float, float]:
        """Given one of this table's cells, return its horizontal extent (x0, x1): from its bbox, else from
        col_x, else in grid units."""
        if cell.bbox is not None:
            return cell.bbox[0], cell.bbox[2]
        edges = self.col_x
        if edges and len(edges) == self.n_cols + 1:
            hi = min(cell.col + cell.colspan, self.n_cols)
            return edges[min(cell.col, self.n_cols)], edges[hi]
        return float(cell.col), float(cell.col + cell.colspan)

    def grid(self) -> list[list[Cell | None]]:
        """Return a n_rows x n_cols matrix where every covered position points at its Cell."""
        n_rows, n_cols = self.n_rows, self.n_cols
        g: list[list[Cell | None]] = [[None] * n_cols for _ in range(n_rows)]
        for c in self.cells:
            row, col = c.row, c.col
            if c.rowspan == 1 and c.colspan == 1:  # most cells: one position, no ranges to build
                if row < n_rows and col < n_cols:
                    g[row][col] = c
                continue
            for r in range(row, min(row + c.rowspan, n_rows)):
                for k in range(col, min(col + c.colspan, n_cols)):
                    g[r][k] = c
        return g


@dataclass
class Document:
    """What a parser read: tables in document order and free text lines."""

    tables: list[Table] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    kind: str = ""  # docx, pdf, ...
    pages: int | None = None
    # Text of page headers and footers (Word's header/footer parts), where cover fields may also sit.
    page_lines: list[str] = field(default_factory=list)
