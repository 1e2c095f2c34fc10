"""Streaming readers for record files: CSV, JSON Lines, Parquet and Excel workbooks.

Each reader yields Arrow tables of at most ``batch_rows`` records with a ``_line`` column
(the 1-based line of the record; for Parquet its row number; for an Excel workbook the
sheet's row number, as Excel shows it), plus the rows it could not read as records. A
file that cannot be read at all raises FileFormatError naming the file, the line and the
problem; nothing is ingested from it. So does a file that is not what its name or
``--format`` says (a workbook named .csv, text named .xlsx): its first bytes are checked
before it is read.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from xinyong.errors import FileFormatError
from xinyong.ledger.records import COLUMNS, LINE, REQUIRED_COLUMNS

FORMATS = ("csv", "jsonl", "parquet", "xlsx")
_EXTENSIONS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
# Spreadsheets that are not read: the clerk saves them again as .xlsx or CSV UTF-8.
_SPREADSHEETS = {
    ".xls": "an old Excel 97-2003 workbook (.xls)",
    ".xlsb": "an Excel binary workbook (.xlsb)",
    ".et": "a WPS Spreadsheets workbook (.et)",
    ".ods": "an OpenDocument spreadsheet (.ods)",
}
SAVE_AS = (
    "Open it in Excel or WPS and save it as an Excel Workbook (.xlsx) or as CSV UTF-8 "
    "(comma delimited) (.csv), then ingest that file."
)
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .et, and password-protected .xlsx
_PARQUET = b"PAR1"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number; the rest become zeros


@dataclass
class Unreadable:
    """A row that could not be read as a record (it is rejected, the rest goes on)."""

    line: int
    reason: str  # malformed_line or unknown_field
    record: dict[str, object] | str
    field: str | None = None
    hint: str | None = None


@dataclass
class Chunk:
    table: pa.Table
    unreadable: list[Unreadable] = field(default_factory=list)
    progress: int = 0  # bytes (CSV, JSON Lines) or rows (Parquet, Excel) consumed so far


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise FileFormatError(
                f"Unknown format {fmt!r}.", hint="Use --format csv, jsonl, parquet or xlsx."
            )
        return fmt
    suffix = path.suffix.lower()
    found = _EXTENSIONS.get(suffix)
    if found is None and suffix in _SPREADSHEETS:
        if _sniff(path) == "workbook":
            raise FileFormatError(
                f"{path} is named {path.suffix} but is an Excel workbook (.xlsx).",
                hint="Rename it to .xlsx, or pass --format xlsx.",
            )
        raise FileFormatError(
            f"{path} is {_SPREADSHEETS[suffix]}, which xinyong does not read.", hint=SAVE_AS
        )
    if found is None:
        raise FileFormatError(
            f"Cannot tell the format of {path} from its extension {path.suffix!r}.",
            hint="Name it .csv, .jsonl, .parquet or .xlsx, or pass "
            "--format csv|jsonl|parquet|xlsx.",
        )
    return found


def _sniff(path: Path) -> str:
    """What the first bytes say the file is: workbook, zip, ole2, parquet, utf16, text, binary."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith(_ZIP):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return "zip"
        return "workbook" if any(n.startswith("xl/") for n in names) else "zip"
    if head.startswith(_OLE2):
        return "ole2"
    if head.startswith(_PARQUET):
        return "parquet"
    if head.startswith(_UTF16_BOMS):
        return "utf16"
    return "binary" if b"\x00" in head else "text"


_KINDS = {
    "workbook": "an Excel workbook (.xlsx)",
    "zip": "a zip archive",
    "ole2": "an old Excel 97-2003 (.xls) or WPS (.et) workbook, or a password-protected one",
    "parquet": "a Parquet file",
    "utf16": "UTF-16 text (what Excel saves as 'Unicode Text')",
    "text": "a text file",
    "binary": "a binary file",
}
_FORMAT_NAMES = {
    "csv": "CSV text",
    "jsonl": "JSON Lines text",
    "parquet": "a Parquet file",
    "xlsx": "an Excel workbook (.xlsx)",
}


def _check_content(path: Path, fmt: str) -> None:
    """Refuse a file whose first bytes contradict its format, saying what it is instead."""
    kind = _sniff(path)
    fits = {
        "csv": kind in ("text", "binary"),  # bad bytes in text get their own message
        "jsonl": kind in ("text", "binary"),
        "parquet": kind == "parquet",
        "xlsx": kind in ("workbook", "zip"),  # a zip that is no workbook: the loader says so
    }[fmt]
    if fits:
        return
    hints = {
        "workbook": "Name it .xlsx, or pass --format xlsx.",
        "zip": "Unzip it and ingest the file inside.",
        "ole2": SAVE_AS + " A password-protected workbook must be saved without a password.",
        "parquet": "Name it .parquet, or pass --format parquet.",
        "utf16": SAVE_AS,
        "text": "If it is CSV, name it .csv or pass --format csv; if JSON Lines, .jsonl.",
        "binary": None,
    }
    raise FileFormatError(
        f"{path} is not {_FORMAT_NAMES[fmt]}: its first bytes show {_KINDS[kind]}.",
        hint=hints[kind],
    )


class RecordFile:
    """One input file: ``fmt``, ``total`` (progress units) and ``chunks()``."""

    def __init__(
        self,
        path: Path,
        fmt: str | None = None,
        *,
        encoding: str = "utf-8",
        batch_rows: int = 500_000,
        sheet: str | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileFormatError(f"{self.path} does not exist or is not a file.")
        self.fmt = detect_format(self.path, fmt)
        self.encoding = encoding
        self.batch_rows = batch_rows
        if sheet is not None and self.fmt != "xlsx":
            raise FileFormatError(
                f"{self.path} is {_FORMAT_NAMES[self.fmt]}: only an Excel workbook has sheets.",
                hint="Leave out --sheet.",
            )
        self.sheet = sheet
        if os.path.getsize(self.path) == 0:
            raise FileFormatError(f"{self.path} is empty: it holds no records.")
        _check_content(self.path, self.fmt)
        self.unit = "rows" if self.fmt in ("parquet", "xlsx") else "bytes"
        if self.fmt == "parquet":
            self.total = self._parquet().metadata.num_rows
        elif self.fmt == "xlsx":
            with self._worksheet() as ws:
                # The row count the workbook declares; grown while reading if it was wrong.
                self.total = ws.max_row or 0
        else:
            self.total = os.path.getsize(self.path)

    def chunks(self) -> Iterator[Chunk]:
        reader = {
            "csv": self._csv,
            "jsonl": self._jsonl,
            "parquet": self._parquet_chunks,
            "xlsx": self._xlsx,
        }[self.fmt]
        produced = False
        for chunk in reader():
            produced = produced or chunk.table.num_rows > 0 or bool(chunk.unreadable)
            yield chunk
        if not produced:
            raise FileFormatError(f"{self.path} holds no records.")

    # -- shared ------------------------------------------------------------------------

    def _where(self, line: int) -> str:
        return f"{self.path}, line {line}"

    def _check_columns(self, names: list[str], where: str) -> None:
        unknown = [n for n in names if n not in COLUMNS]
        if unknown:
            raise FileFormatError(
                f"{where}: unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}.",
                hint="Records have the columns " + ", ".join(COLUMNS) + " (docs/record-format.md).",
            )
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise FileFormatError(
                f"{where}: missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}.",
                hint="Every record needs " + ", ".join(REQUIRED_COLUMNS) + ".",
            )
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise FileFormatError(f"{where}: column {sorted(dupes)[0]!r} appears twice.")

    def _lines(self) -> Iterator[tuple[int, str, int]]:
        """(line number, decoded text, bytes consumed) for each physical line."""
        position = 0
        with open(self.path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                position += len(raw)
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    text = raw.decode(self.encoding)
                except UnicodeDecodeError as exc:
                    raise FileFormatError(
                        f"{self._where(number)}: byte {exc.start + 1} of the line is not valid "
                        f"{self.encoding} ({raw[exc.start : exc.start + 4]!r}).",
                        hint="If the file was saved in a Chinese Windows encoding, pass --encoding gbk.",
                    ) from None
                yield number, text, position

    @staticmethod
    def _table(columns: dict[str, list[object]], lines: list[int]) -> pa.Table:
        data = {LINE: pa.array(lines, pa.int64())}
        for name, values in columns.items():
            data[name] = pa.array(values, pa.string())
        return pa.table(data)

    # -- CSV -----------------------------------------------------------------------------

    def _csv(self) -> Iterator[Chunk]:
        state = {"line": 0, "pos": 0}

        def feed() -> Iterator[str]:
            for number, text, position in self._lines():
                state["line"], state["pos"] = number, position
                yield text

        reader = csv.reader(feed(), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise FileFormatError(f"{self.path} is empty: it holds no records.") from None
        except csv.Error as exc:
            raise FileFormatError(f"{self._where(state['line'])}: {exc}.") from None
        header = [h.strip() for h in header]
        self._check_columns(header, f"{self.path}, line 1 (header)")
        width = len(header)
        columns: dict[str, list[object]] = {h: [] for h in header}
        lines: list[int] = []
        unreadable: list[Unreadable] = []
        start = state["line"] + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise FileFormatError(
                    f"{self._where(start)}: broken CSV quoting ({exc}).",
                    hint="A field that contains a comma, quote or line break must be wrapped in "
                    'double quotes, with inner quotes doubled ("").',
                ) from None
            line, start = start, state["line"] + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                unreadable.append(
                    Unreadable(
                        line,
                        "malformed_line",
                        ",".join(row),
                        hint=f"it has {len(row)} fields where the header has {width}",
                    )
                )
                continue
            lines.append(line)
            for name, value in zip(header, row, strict=True):
                columns[name].append(value if value != "" else None)
            if len(lines) >= self.batch_rows:
                yield Chunk(self._table(columns, lines), unreadable, state["pos"])
                columns = {h: [] for h in header}
                lines, unreadable = [], []
        yield Chunk(self._table(columns, lines), unreadable, state["pos"])

    # -- JSON Lines ------------------------------------------------------------------------

    def _jsonl(self) -> Iterator[Chunk]:
        columns: dict[str, list[object]] = {c: [] for c in COLUMNS}
        lines: list[int] = []
        unreadable: list[Unreadable] = []
        position = 0
        for number, text, position in self._lines():
            if not text.strip():
                continue
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                unreadable.append(
                    Unreadable(
                        number, "malformed_line", text.rstrip("\r\n"), hint=f"not JSON ({exc})"
                    )
                )
                continue
            if not isinstance(obj, dict):
                unreadable.append(
                    Unreadable(
                        number, "malformed_line", text.rstrip("\r\n"), hint="not a JSON object"
                    )
                )
                continue
            unknown = next((k for k in obj if k not in COLUMNS), None)
            if unknown is not None:
                unreadable.append(Unreadable(number, "unknown_field", obj, field=unknown))
                continue
            lines.append(number)
            for name in COLUMNS:
                columns[name].append(_as_text(obj.get(name)))
            if len(lines) >= self.batch_rows:
                yield Chunk(self._table(columns, lines), unreadable, position)
                columns = {c: [] for c in COLUMNS}
                lines, unreadable = [], []
        yield Chunk(self._table(columns, lines), unreadable, position)

    # -- Parquet -----------------------------------------------------------------------------

    def _parquet(self) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise FileFormatError(
                f"{self.path} is not a readable Parquet file (it may be truncated): {exc}."
            ) from None

    def _parquet_chunks(self) -> Iterator[Chunk]:
        pf = self._parquet()
        names = pf.schema_arrow.names
        self._check_columns(list(names), f"{self.path} (Parquet schema)")
        done = 0
        try:
            for batch in pf.iter_batches(batch_size=self.batch_rows):
                table = pa.Table.from_batches([batch])
                table = table.append_column(
                    LINE, pa.array(range(done + 1, done + 1 + table.num_rows), pa.int64())
                )
                done += table.num_rows
                yield Chunk(table, [], done)
        except (pa.ArrowInvalid, OSError) as exc:
            raise FileFormatError(
                f"{self.path}, row {done + 1}: the Parquet data cannot be read (it may be truncated "
                f"or corrupt): {exc}."
            ) from None

    # -- Excel workbooks ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _worksheet(self) -> Iterator[Any]:
        """The chosen sheet (the first, or ``sheet``) of the workbook, opened read-only."""
        from openpyxl import load_workbook

        with open(self.path, "rb") as fh:
            try:
                # A file object, not the name: openpyxl would refuse names it does not know.
                # data_only: a formula cell gives the value Excel saved with it.
                book = load_workbook(fh, read_only=True, data_only=True)
            except Exception as exc:  # any failure to open the package means "not a workbook"
                raise FileFormatError(
                    f"{self.path} is a zip file but not an Excel workbook that can be read "
                    f"({type(exc).__name__}: {exc}).",
                    hint=SAVE_AS,
                ) from None
            try:
                sheets = book.worksheets  # worksheets only, in tab order; no chart sheets
                if self.sheet is not None:
                    found = [ws for ws in sheets if ws.title == self.sheet]
                    if not found:
                        raise FileFormatError(
                            f"{self.path} has no sheet {self.sheet!r}.",
                            hint="Its sheets are: " + ", ".join(repr(ws.title) for ws in sheets),
                        )
                    yield found[0]
                elif not sheets:
                    raise FileFormatError(f"{self.path} has no worksheet: it holds no records.")
                else:
                    yield sheets[0]
            finally:
                book.close()

    def _xlsx(self) -> Iterator[Chunk]:
        from openpyxl.utils import get_column_letter

        with self._worksheet() as ws:
            where = f"{self.path} (sheet {ws.title!r})"
            # A wrong declared size would cut rows or columns off: read what is there.
            ws.reset_dimensions()
            rows = enumerate(ws.iter_rows(values_only=True), start=1)

            def next_row() -> tuple[int, tuple[Any, ...]] | None:
                try:
                    return next(rows, None)
                except Exception as exc:  # the sheet's XML is damaged
                    raise FileFormatError(
                        f"{where}: the sheet cannot be read after row {number} (it may be "
                        f"damaged): {type(exc).__name__}: {exc}.",
                        hint=SAVE_AS,
                    ) from None

            number = 0
            while (item := next_row()) is not None:
                number, values = item
                if any(_present(v) for v in values):
                    break
            else:
                raise FileFormatError(f"{where} is empty: it holds no records.")
            header_row = number
            names = [_cell_text(v) for v in values]
            while names and names[-1] is None:
                names.pop()
            for i, name in enumerate(names):
                if name is None or not name.strip():
                    raise FileFormatError(
                        f"{where}, row {header_row} (header): column {get_column_letter(i + 1)} "
                        "has no name.",
                        hint="The first row names the columns (docs/record-format.md).",
                    )
            header = [n.strip() for n in names if n is not None]
            self._check_columns(header, f"{where}, row {header_row} (header)")
            width = len(header)
            columns: dict[str, list[object]] = {h: [] for h in header}
            lines: list[int] = []
            unreadable: list[Unreadable] = []
            while (item := next_row()) is not None:
                number, values = item
                self.total = max(self.total, number)
                if not any(_present(v) for v in values):
                    continue
                texts = [_cell_text(v) for v in values[:width]]
                texts += [None] * (width - len(texts))
                shown: dict[str, object] = {
                    h: t for h, t in zip(header, texts, strict=True) if t is not None
                }
                beyond = next((i for i in range(width, len(values)) if _present(values[i])), None)
                long_number = next(
                    (
                        (h, t)
                        for h, v, t in zip(header, values, texts, strict=False)
                        if _digits_lost(v)
                    ),
                    None,
                )
                if beyond is not None:
                    unreadable.append(
                        Unreadable(
                            number,
                            "malformed_line",
                            shown,
                            hint=f"it has a value in column {get_column_letter(beyond + 1)}, "
                            f"beyond the {width} columns the header names",
                        )
                    )
                    continue
                if long_number is not None:
                    unreadable.append(
                        Unreadable(
                            number,
                            "malformed_line",
                            shown,
                            field=long_number[0],
                            hint=f"column {long_number[0]} holds the number {long_number[1]}, "
                            f"but Excel keeps only {EXCEL_DIGITS} digits of a number, so its "
                            "last digits are lost; format the column as Text and enter the "
                            "value again",
                        )
                    )
                    continue
                lines.append(number)
                for name, text in zip(header, texts, strict=True):
                    columns[name].append(text)
                if len(lines) >= self.batch_rows:
                    yield Chunk(self._table(columns, lines), unreadable, number)
                    columns = {h: [] for h in header}
                    lines, unreadable = [], []
            yield Chunk(self._table(columns, lines), unreadable, number)


def _present(value: object) -> bool:
    return value is not None and value != ""


def _digits_lost(value: object) -> bool:
    """A number too long for Excel: its digits after the 15th were replaced by zeros."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) >= 10**EXCEL_DIGITS
    )


def _cell_text(value: object) -> str | None:
    """A cell as the text a CSV export would hold: whole numbers without ".0", dates as
    YYYY-MM-DD, empty cells absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel's 15 significant digits: 0.1 + 0.2 is shown, and exported, as 0.3, and
        # 360426199101010071 typed as a number as 360426199101010000.
        shown = format(value, f".{EXCEL_DIGITS}g")
        return str(int(Decimal(shown))) if value.is_integer() else shown
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")  # not a date: occurred_on_invalid says so
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # nested deeper than orjson writes: the validator rejects it
            return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
