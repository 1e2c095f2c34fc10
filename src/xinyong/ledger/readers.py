"""Streaming readers for record files: CSV, JSON Lines and Parquet.

Each reader yields Arrow tables of at most ``batch_rows`` records with a ``_line`` column
(the 1-based line of the record; for Parquet its row number), plus the rows it could not
read as records. A file that cannot be read at all raises FileFormatError naming the
file, the line and the problem; nothing is ingested from it.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from xinyong.errors import FileFormatError
from xinyong.ledger.records import COLUMNS, LINE, REQUIRED_COLUMNS

FORMATS = ("csv", "jsonl", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


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
    progress: int = 0  # bytes (CSV, JSON Lines) or rows (Parquet) consumed so far


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise FileFormatError(
                f"Unknown format {fmt!r}.", hint="Use --format csv, jsonl or parquet."
            )
        return fmt
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise FileFormatError(
            f"Cannot tell the format of {path} from its extension {path.suffix!r}.",
            hint="Name it .csv, .jsonl or .parquet, or pass --format csv|jsonl|parquet.",
        )
    return found


class RecordFile:
    """One input file: ``fmt``, ``total`` (progress units) and ``chunks()``."""

    def __init__(
        self,
        path: Path,
        fmt: str | None = None,
        *,
        encoding: str = "utf-8",
        batch_rows: int = 500_000,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileFormatError(f"{self.path} does not exist or is not a file.")
        self.fmt = detect_format(self.path, fmt)
        self.encoding = encoding
        self.batch_rows = batch_rows
        if os.path.getsize(self.path) == 0:
            raise FileFormatError(f"{self.path} is empty: it holds no records.")
        self.unit = "rows" if self.fmt == "parquet" else "bytes"
        self.total = (
            self._parquet().metadata.num_rows
            if self.fmt == "parquet"
            else os.path.getsize(self.path)
        )

    def chunks(self) -> Iterator[Chunk]:
        reader = {"csv": self._csv, "jsonl": self._jsonl, "parquet": self._parquet_chunks}[self.fmt]
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
