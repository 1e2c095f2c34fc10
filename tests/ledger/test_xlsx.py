"""Excel workbooks (.xlsx): the same records, line numbers and rejects as CSV, and clear
refusals for the old .xls and for files that are not what their name says."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import orjson
import pyarrow.parquet as pq
import pytest

from tests.factories import COMPANY, PERSON, PERSON_2, record, write_csv, write_jsonl
from xinyong.context import Context
from xinyong.errors import FileFormatError
from xinyong.ledger.ingest import ingest_file
from xinyong.ledger.queries import subject_file
from xinyong.ledger.readers import RecordFile
from xinyong.ledger.records import COLUMNS, LINE
from xinyong.ledger.sources import add_source

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # how every .xls (and .et) file starts


def write_xlsx(
    path: Path,
    records: list[dict[str, Any]],
    *,
    columns: tuple[str, ...] = COLUMNS,
    sheet: str = "Sheet1",
    cells: dict[str, Any] | None = None,
) -> Path:
    """Like write_csv, as a workbook: a header row, then one row per record. ``cells``
    puts typed values ({"B2": date}) over the text the records give."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(list(columns))
    for r in records:
        row = dict(r)
        if isinstance(row.get("details"), dict):
            row["details"] = orjson.dumps(row["details"]).decode()
        ws.append([row.get(c) for c in columns])
    for ref, value in (cells or {}).items():
        ws[ref] = value
    book.save(path)
    return path


def rows(path: Path, fmt: str | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    return [r for c in RecordFile(path, fmt, **kwargs).chunks() for r in c.table.to_pylist()]


def refused(path: Path, fmt: str | None = None, **kwargs: Any) -> str:
    with pytest.raises(FileFormatError) as info:
        list(RecordFile(path, fmt, **kwargs).chunks())
    assert info.value.code == "file_malformed"
    return str(info.value)


def _court(ctx: Context, source_id: str) -> str:
    with ctx.store.transaction() as conn:
        add_source(conn, ctx.catalog, name=f"Court {source_id}", kind="court", source_id=source_id)
    return source_id


def _rejects(path: str | None) -> list[dict[str, Any]]:
    assert path is not None
    return [orjson.loads(line) for line in Path(path).read_bytes().splitlines()]


# -- the same records as CSV and as a workbook ------------------------------------------------

MIXED = [
    record(source_record_id="a", amount="10.5"),
    record(source_record_id="b", subject="110105194912310021"),  # wrong check character
    record(source_record_id="c", category="judicial.no_such_thing", amount="30"),
    record(source_record_id="d", occurred_on="2025-02-30"),  # not a real date
    record(source_record_id="e", subject=COMPANY, details={"situation": 1}),
    record(source_record_id="f", subject=PERSON_2, document=None),
]


def test_workbook_gives_the_same_records_and_rejects_as_csv(ctx: Context, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "court.csv", MIXED)
    # Amounts as numbers, as a clerk types them: 10.5 and 30 (30 must not become "30.0").
    xlsx_path = write_xlsx(tmp_path / "court.xlsx", MIXED, cells={"E2": 10.5, "E4": 30})
    assert openpyxl.load_workbook(xlsx_path)["Sheet1"]["E4"].value == 30

    # What the validator is given is the same, row for row.
    assert rows(xlsx_path) == rows(csv_path)

    # The workbook first, on an empty ledger; then the CSV from the same source: every
    # record it accepted is a duplicate (documents are unique across sources, so the two
    # files cannot each go to a source of their own).
    source = _court(ctx, "court")
    from_xlsx = ingest_file(ctx, xlsx_path, source)
    from_csv = ingest_file(ctx, csv_path, source)

    assert from_xlsx.format == "xlsx"
    assert (from_xlsx.read, from_xlsx.accepted, from_xlsx.duplicates, from_xlsx.rejected) == (
        6,
        3,
        0,
        3,
    )
    assert (from_csv.read, from_csv.accepted, from_csv.duplicates, from_csv.rejected) == (
        6,
        0,
        3,
        3,
    )
    expected = {"subject_invalid": 1, "category_unknown": 1, "occurred_on_invalid": 1}
    assert from_csv.rejected_by_reason == expected
    assert from_xlsx.rejected_by_reason == expected

    csv_rejects = _rejects(from_csv.rejects_file)
    xlsx_rejects = _rejects(from_xlsx.rejects_file)
    # Excel row numbers (the header is row 1), equal to the CSV line numbers.
    assert [(r["line"], r["reason"]) for r in xlsx_rejects] == [
        (3, "subject_invalid"),
        (4, "category_unknown"),
        (5, "occurred_on_invalid"),
    ]
    assert xlsx_rejects == csv_rejects
    assert xlsx_rejects[1]["record"]["amount"] == "30"


def test_reader_maps_cells_to_the_csv_text(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [record(source_record_id="a"), record(source_record_id="b")],
        cells={
            "A2": 1001,  # a number typed as an id
            "D2": dt.date(2025, 3, 1),  # a real date cell
            "E2": 10.5,
            "E3": 0.1 + 0.2,  # shown by Excel as 0.3
            "D3": 20250301,  # a number, not a date: left as its digits
            "F3": "",
        },
    )
    result = rows(path)
    assert [r[LINE] for r in result] == [2, 3]
    assert result[0]["source_record_id"] == "1001"
    assert result[0]["occurred_on"] == "2025-03-01"
    assert result[0]["amount"] == "10.5"
    assert result[1]["amount"] == "0.3"
    assert result[1]["occurred_on"] == "20250301"
    assert result[1]["document"] is None
    assert orjson.loads(result[0]["details"]) == {"situation": 2, "term_months": 24}
    assert result[0]["supersedes"] is None


def test_a_date_cell_becomes_the_recorded_date(ctx: Context, tmp_path: Path) -> None:
    source = _court(ctx, "court")
    rows_in = [record(source_record_id="a"), record(source_record_id="b", subject=PERSON_2)]
    path = write_xlsx(
        tmp_path / "dates.xlsx",
        rows_in,
        cells={"D2": dt.datetime(2025, 11, 3), "D3": 20251103},
    )
    report = ingest_file(ctx, path, source)
    assert (report.accepted, report.rejected) == (1, 1)
    [reject] = _rejects(report.rejects_file)
    assert (reject["line"], reject["reason"]) == (3, "occurred_on_invalid")
    assert "'20251103'" in reject["message"]
    with ctx.store.transaction() as conn:
        file = subject_file(conn, PERSON, ctx.secret)
    assert [str(r["occurred_on"]) for r in file["current_records"]] == ["2025-11-03"]


def test_a_date_with_a_time_of_day_is_not_taken_as_a_date(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [record()], cells={"D2": dt.datetime(2025, 3, 1, 9, 30)})
    assert rows(path)[0]["occurred_on"] == "2025-03-01 09:30:00"


def test_blank_rows_are_skipped_and_rows_keep_their_excel_number(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["source_record_id", "subject", "category", "occurred_on"])
    ws.append(["a", PERSON, "judicial.defaulter.listed", "2025-03-01"])
    ws["A5"] = "b"  # rows 3 and 4 are empty
    ws["B5"], ws["C5"], ws["D5"] = PERSON_2, "judicial.defaulter.listed", "2025-03-02"
    ws["A7"] = ""  # a row with an empty string only is blank too
    book.save(tmp_path / "r.xlsx")
    result = rows(tmp_path / "r.xlsx")
    assert [(r[LINE], r["source_record_id"]) for r in result] == [(2, "a"), (5, "b")]
    assert set(result[0]) == {LINE, "source_record_id", "subject", "category", "occurred_on"}


def test_a_value_beyond_the_header_is_a_malformed_row(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [record(source_record_id="a"), record(source_record_id="b")],
        cells={"K3": "stray"},
    )
    file = RecordFile(path)
    chunks = list(file.chunks())
    assert [r[LINE] for c in chunks for r in c.table.to_pylist()] == [2]
    [bad] = [u for c in chunks for u in c.unreadable]
    assert (bad.line, bad.reason) == (3, "malformed_line")
    assert bad.hint == "it has a value in column K, beyond the 10 columns the header names"
    assert isinstance(bad.record, dict)
    assert bad.record["source_record_id"] == "b"


def test_an_identifier_stored_as_a_number_is_refused_with_the_reason(
    ctx: Context, tmp_path: Path
) -> None:
    source = _court(ctx, "court")
    # Excel keeps 15 digits: 360426199101010071 typed as a number is stored as ...010000.
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [record(source_record_id="a"), record(source_record_id="b")],
        cells={"B3": 360426199101010000},
    )
    report = ingest_file(ctx, path, source)
    assert (report.accepted, report.rejected) == (1, 1)
    [reject] = _rejects(report.rejects_file)
    assert (reject["line"], reject["reason"], reject["field"]) == (3, "malformed_line", "subject")
    assert "holds the number 360426199101010000" in reject["message"]
    assert "format the column as Text" in reject["message"]


def test_workbook_batches_count_rows(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [record(source_record_id=f"r{i}") for i in range(10)])
    file = RecordFile(path, batch_rows=3)
    assert (file.unit, file.total) == ("rows", 11)
    result = list(file.chunks())
    assert [c.table.num_rows for c in result] == [3, 3, 3, 1]
    assert [v for c in result for v in c.table.column(LINE).to_pylist()] == list(range(2, 12))
    assert [c.progress for c in result] == [4, 7, 10, 11]


# -- sheets -----------------------------------------------------------------------------------


def test_the_first_sheet_is_read_even_when_another_is_active(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [record(source_record_id="first")], sheet="Records")
    book = openpyxl.load_workbook(path)
    other = book.create_sheet("Notes")
    other.append(["source_record_id", "subject", "category", "occurred_on"])
    other.append(["second", PERSON, "judicial.defaulter.listed", "2025-03-01"])
    book.active = 1
    book.save(path)
    assert [r["source_record_id"] for r in rows(path)] == ["first"]
    assert [r["source_record_id"] for r in rows(path, sheet="Notes")] == ["second"]
    message = refused(path, sheet="Sheet2")
    assert "has no sheet 'Sheet2'" in message
    assert "'Records', 'Notes'" in message


def test_a_sheet_is_only_for_workbooks(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [record()])
    assert "only an Excel workbook has sheets" in refused(path, sheet="Sheet1")


def test_header_problems_name_the_sheet_and_row(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [record()], columns=("source_record_id", "subject"))
    message = refused(path)
    assert "(sheet 'Sheet1'), row 1 (header): missing required columns category, occurred_on" in (
        message
    )
    path = write_xlsx(tmp_path / "u.xlsx", [record()], columns=(*COLUMNS, "face_image"))
    assert "unknown column 'face_image'" in refused(path)


def test_an_empty_sheet_or_a_header_alone_holds_no_records(tmp_path: Path) -> None:
    openpyxl.Workbook().save(tmp_path / "empty.xlsx")
    assert "is empty: it holds no records" in refused(tmp_path / "empty.xlsx")
    path = write_xlsx(tmp_path / "header.xlsx", [])
    assert refused(path) == f"{path} holds no records."


# -- formats and what files really are -------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm", ".XLSX"])
def test_workbook_extensions(tmp_path: Path, suffix: str) -> None:
    path = write_xlsx(tmp_path / f"records{suffix}", [record()])
    assert RecordFile(path).fmt == "xlsx"


def test_format_xlsx_reads_a_workbook_of_any_name(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "export.dat", [record()])
    assert [r["source_record_id"] for r in rows(path, "xlsx")] == ["r1"]


def test_old_xls_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "court.xls"
    path.write_bytes(OLE2 + b"\x00" * 504)
    with pytest.raises(FileFormatError) as info:
        RecordFile(path)
    assert info.value.code == "file_malformed"
    assert (
        info.value.message
        == f"{path} is an old Excel 97-2003 workbook (.xls), which xinyong does not read."
    )
    assert info.value.hint is not None
    assert "save it as an Excel Workbook (.xlsx) or as CSV UTF-8" in info.value.hint


def test_old_xls_forced_as_csv_or_xlsx_is_still_recognised(tmp_path: Path) -> None:
    path = tmp_path / "court.xls"
    path.write_bytes(OLE2 + b"\x00" * 504)
    for fmt in ("csv", "xlsx"):
        message = refused(path, fmt)
        assert "old Excel 97-2003 (.xls)" in message
        assert "save it as an Excel Workbook (.xlsx)" in message


def test_xlsx_named_xls_says_to_rename_it(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "court.xls", [record()])
    message = refused(path)
    assert "is an Excel workbook (.xlsx)" in message
    assert "Rename it to .xlsx" in message
    assert [r["source_record_id"] for r in rows(path, "xlsx")] == ["r1"]


def test_text_named_xlsx_is_refused_clearly(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "court.xlsx", [record()])
    with pytest.raises(FileFormatError) as info:
        RecordFile(path)
    assert info.value.message == (
        f"{path} is not an Excel workbook (.xlsx): its first bytes show a text file."
    )
    assert "name it .csv or pass --format csv" in str(info.value.hint)
    assert [r["source_record_id"] for r in rows(path, "csv")] == ["r1"]


def test_zip_that_is_no_workbook_named_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "court.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("court.csv", "source_record_id\n")
    assert f"{path} is a zip file but not an Excel workbook that can be read" in refused(path)


def test_xlsx_named_csv_is_refused_not_decoded(ctx: Context, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "court.csv", [record()])
    message = refused(path)
    assert message == (
        f"{path} is not CSV text: its first bytes show an Excel workbook (.xlsx). "
        "Name it .xlsx, or pass --format xlsx."
    )
    assert "encoding" not in message
    source = _court(ctx, "court")
    with pytest.raises(FileFormatError, match="is not CSV text"):
        ingest_file(ctx, path, source, fmt="csv")
    assert ingest_file(ctx, path, source, fmt="xlsx").accepted == 1


def test_other_zip_named_csv_says_to_unzip(tmp_path: Path) -> None:
    path = tmp_path / "court.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("court.csv", "source_record_id\n")
    message = refused(path)
    assert "its first bytes show a zip archive" in message
    assert "Unzip it" in message


def test_xlsx_named_jsonl_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "court.jsonl", [record()])
    assert "is not JSON Lines text: its first bytes show an Excel workbook" in refused(path)


def test_utf16_text_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "court.csv"
    path.write_bytes("source_record_id\tsubject\n".encode("utf-16"))
    message = refused(path)
    assert "its first bytes show UTF-16 text" in message
    assert "CSV UTF-8" in message


def test_parquet_without_its_magic_is_refused(tmp_path: Path) -> None:
    text = write_csv(tmp_path / "court.parquet", [record()])
    assert refused(text) == (
        f"{text} is not a Parquet file: its first bytes show a text file. If it is CSV, "
        "name it .csv or pass --format csv; if JSON Lines, .jsonl."
    )
    book = write_xlsx(tmp_path / "book.parquet", [record()])
    assert "its first bytes show an Excel workbook (.xlsx)" in refused(book)


def test_real_files_still_pass_the_content_check(tmp_path: Path) -> None:
    import pyarrow as pa

    parquet = tmp_path / "r.parquet"
    pq.write_table(pa.Table.from_pylist([{k: str(v) for k, v in record().items()}]), parquet)
    jsonl = write_jsonl(tmp_path / "r.jsonl", [record()])
    csv_gbk = tmp_path / "r.csv"
    csv_gbk.write_bytes(
        "source_record_id,subject,category,occurred_on,legal_basis\n"
        f"a,{PERSON},judicial.defaulter.listed,2025-03-01,民事诉讼法\n".encode("gbk")
    )
    assert [r["source_record_id"] for r in rows(parquet)] == ["r1"]
    assert [r["source_record_id"] for r in rows(jsonl)] == ["r1"]
    assert [r["legal_basis"] for r in rows(csv_gbk, encoding="gbk")] == ["民事诉讼法"]


def test_a_header_cell_without_a_name_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [record()], cells={"C1": None})
    assert refused(path) == (
        f"{path} (sheet 'Sheet1'), row 1 (header): column C has no name. "
        "The first row names the columns (docs/record-format.md)."
    )


def test_a_damaged_sheet_is_refused_not_a_traceback(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", [record(source_record_id=f"r{i}") for i in range(5)])
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut off in the middle of the rows
            out.writestr(item, data)
    message = refused(path)
    assert f"{path} (sheet 'Sheet1'): the sheet cannot be read after row " in message
    assert "(it may be damaged)" in message
