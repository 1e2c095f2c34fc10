"""Record file readers: CSV, JSON Lines and Parquet, their line numbers, the rows they
cannot read, and the files they refuse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.factories import COMPANY, PERSON, PERSON_2, record, write_csv, write_jsonl
from xinyong.catalog import load_catalog
from xinyong.errors import FileFormatError
from xinyong.ledger.readers import Chunk, RecordFile
from xinyong.ledger.records import COLUMNS, LINE
from xinyong.ledger.validate import Grant, Validator

HEADER = "source_record_id,subject,category,occurred_on,details\n"


def chunks(path: Path, fmt: str | None = None, **kwargs: object) -> list[Chunk]:
    return list(RecordFile(path, fmt, **kwargs).chunks())  # type: ignore[arg-type]


def rows(path: Path, fmt: str | None = None, **kwargs: object) -> list[dict[str, object]]:
    return [r for c in chunks(path, fmt, **kwargs) for r in c.table.to_pylist()]


def unreadable(path: Path, fmt: str | None = None) -> list:
    return [u for c in chunks(path, fmt) for u in c.unreadable]


def refused(path: Path, fmt: str | None = None, **kwargs: object) -> str:
    with pytest.raises(FileFormatError) as info:
        chunks(path, fmt, **kwargs)
    assert info.value.code == "file_malformed"
    return str(info.value)


@pytest.fixture(scope="module")
def court_validator() -> Validator:
    catalog = load_catalog()
    grant = Grant("court-1", frozenset(catalog.categories_for_source_kind("court")))
    validator = Validator(catalog, grant, b"test-secret", dt.date(2026, 11, 23))
    yield validator
    validator.close()


# -- CSV -----------------------------------------------------------------------------------


def test_csv_rows_are_text_with_line_numbers(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "r.csv",
        [record(source_record_id="a"), record(source_record_id="b", amount="12.50")],
    )
    result = rows(path)
    assert [r[LINE] for r in result] == [2, 3]
    assert [r["source_record_id"] for r in result] == ["a", "b"]
    assert result[0]["subject"] == PERSON
    assert result[0]["amount"] is None  # an empty cell is no value
    assert result[1]["amount"] == "12.50"
    assert orjson.loads(result[0]["details"]) == {"situation": 2, "term_months": 24}
    table = chunks(path)[0].table
    assert table.schema.field(LINE).type == pa.int64()
    assert all(table.schema.field(c).type == pa.string() for c in COLUMNS)


def test_csv_quoted_line_break_shifts_the_next_line_number(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "source_record_id,subject,category,occurred_on,document\n"
        f"a,{PERSON},judicial.defaulter.listed,2025-03-01,plain\n"
        f'b,{PERSON},judicial.defaulter.listed,2025-03-01,"two\nlines"\n'
        f"c,{PERSON},judicial.defaulter.listed,2025-03-01,plain\n"
        f'd,{PERSON},judicial.defaulter.listed,2025-03-01,"three\nmore\nlines"\n'
        f"e,{PERSON},judicial.defaulter.listed,2025-03-01,plain\n",
        encoding="utf-8",
    )
    result = rows(path)
    assert [(r["source_record_id"], r[LINE]) for r in result] == [
        ("a", 2),
        ("b", 3),
        ("c", 5),
        ("d", 6),
        ("e", 9),
    ]
    assert result[1]["document"] == "two\nlines"


def test_csv_row_with_wrong_field_count_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        HEADER
        + f"a,{PERSON},judicial.defaulter.listed,2025-03-01,{{}}\n"
        + f"b,{PERSON},judicial.defaulter.listed\n"
        + f'c,{PERSON},judicial.defaulter.listed,2025-03-01,"{{}}",extra\n'
        + f"d,{PERSON},judicial.defaulter.listed,2025-03-01,\n",
        encoding="utf-8",
    )
    assert [r["source_record_id"] for r in rows(path)] == ["a", "d"]
    bad = unreadable(path)
    assert [(u.line, u.reason) for u in bad] == [(3, "malformed_line"), (4, "malformed_line")]
    assert "3 fields" in bad[0].hint and "5" in bad[0].hint


def test_csv_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        HEADER + f"a,{PERSON},judicial.defaulter.listed,2025-03-01,\n\n"
        f"b,{PERSON},judicial.defaulter.listed,2025-03-01,\n",
        encoding="utf-8",
    )
    assert [(r["source_record_id"], r[LINE]) for r in rows(path)] == [("a", 2), ("b", 4)]
    assert unreadable(path) == []


def test_csv_unterminated_quote_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(
        HEADER
        + f"a,{PERSON},judicial.defaulter.listed,2025-03-01,\n"
        + f'b,{PERSON},judicial.defaulter.listed,2025-03-01,"{{unterminated\n'
        + f"c,{PERSON},judicial.defaulter.listed,2025-03-01,\n",
        encoding="utf-8",
    )
    message = refused(path)
    assert str(path) in message
    assert "line 3" in message
    assert "quot" in message


def test_csv_invalid_utf8_is_refused_with_the_line_and_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(
        HEADER.encode()
        + f"a,{PERSON},judicial.defaulter.listed,2025-03-01,\n".encode()
        + f"b,{PERSON},judicial.defaulter.listed,2025-03-01,".encode()
        + "执行".encode("gbk")
        + b"\n"
    )
    message = refused(path)
    assert str(path) in message
    assert "line 3" in message
    assert "--encoding gbk" in message


def test_csv_in_gbk_reads_with_encoding_gbk(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    text = (
        "source_record_id,subject,category,occurred_on,document\n"
        f"a,{PERSON},judicial.defaulter.listed,2025-03-01,(2025)京0105执1号\n"
    )
    path.write_bytes(text.encode("gbk"))
    result = rows(path, encoding="gbk")
    assert result[0]["document"] == "(2025)京0105执1号"
    assert result[0][LINE] == 2


def test_csv_utf8_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + HEADER.encode()
        + f"a,{PERSON},judicial.defaulter.listed,2025-03-01,\n".encode()
    )
    result = rows(path)
    assert result[0]["source_record_id"] == "a"
    assert "\ufeffsource_record_id" not in result[0]


def test_csv_unknown_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "source_record_id,subject,category,occurred_on,religion\n"
        f"a,{PERSON},judicial.defaulter.listed,2025-03-01,x\n",
        encoding="utf-8",
    )
    message = refused(path)
    assert "'religion'" in message
    assert str(path) in message


def test_csv_missing_required_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        f"source_record_id,subject,category\na,{PERSON},judicial.defaulter.listed\n",
        encoding="utf-8",
    )
    assert "occurred_on" in refused(path)


def test_csv_duplicate_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "source_record_id,subject,category,occurred_on,subject\n"
        f"a,{PERSON},judicial.defaulter.listed,2025-03-01,{PERSON}\n",
        encoding="utf-8",
    )
    assert "'subject'" in refused(path)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "empty" in refused(path)


def test_header_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text(HEADER, encoding="utf-8")
    message = refused(path)
    assert str(path) in message
    assert "no records" in message


def test_missing_file_is_refused(tmp_path: Path) -> None:
    assert "does not exist" in refused(tmp_path / "nowhere.csv")


# -- JSON Lines ------------------------------------------------------------------------------


def test_jsonl_rows_blank_lines_and_types(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        orjson.dumps(record(source_record_id="a", amount=12.5))
        + b"\n"
        + b"\n   \n"
        + orjson.dumps(record(source_record_id="b", amount=3, details={"situation": 1}))
        + b"\n"
    )
    result = rows(path)
    assert [(r["source_record_id"], r[LINE]) for r in result] == [("a", 1), ("b", 4)]
    assert result[0]["amount"] == "12.5"
    assert result[1]["amount"] == "3"
    assert isinstance(result[0]["details"], str)
    assert orjson.loads(result[0]["details"]) == {"situation": 2, "term_months": 24}
    assert orjson.loads(result[1]["details"]) == {"situation": 1}
    assert result[0]["supersedes"] is None
    assert unreadable(path) == []


def test_jsonl_nested_details_become_json_text(tmp_path: Path) -> None:
    details = {"name": "张三", "court": {"name": "x", "level": [1, 2]}, "flag": True}
    path = write_jsonl(tmp_path / "r.jsonl", [record(details=details)])
    assert orjson.loads(rows(path)[0]["details"]) == details


def test_jsonl_bad_lines_are_unreadable_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        orjson.dumps(record(source_record_id="a"))
        + b"\n"
        + b"{not json\n"
        + b"[1, 2, 3]\n"
        + orjson.dumps({**record(source_record_id="d"), "religion": "x"})
        + b"\n"
        + orjson.dumps(record(source_record_id="e"))
        + b"\n"
    )
    assert [(r["source_record_id"], r[LINE]) for r in rows(path)] == [("a", 1), ("e", 5)]
    bad = unreadable(path)
    assert [(u.line, u.reason) for u in bad] == [
        (2, "malformed_line"),
        (3, "malformed_line"),
        (4, "unknown_field"),
    ]
    assert bad[0].record == "{not json"
    assert "not a JSON object" in bad[1].hint
    assert bad[2].field == "religion"


def test_jsonl_invalid_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    gbk = "执行".encode("gbk")
    path.write_bytes(orjson.dumps(record()) + b"\n" + b'{"document": "' + gbk + b'"}\n')
    message = refused(path)
    assert "line 2" in message
    assert "--encoding gbk" in message


def test_jsonl_with_only_blank_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n\n")
    assert "no records" in refused(path)


# -- Parquet -------------------------------------------------------------------------------


def _typed_table(n: int = 3) -> pa.Table:
    details_type = pa.struct([("situation", pa.int64()), ("term_months", pa.int64())])
    return pa.table(
        {
            "source_record_id": pa.array([f"p{i}" for i in range(n)]),
            "subject": pa.array([PERSON, PERSON_2, COMPANY] * (n // 3) + [PERSON] * (n % 3)),
            "category": pa.array(["judicial.defaulter.listed"] * n),
            "occurred_on": pa.array([dt.date(2025, 3, 1 + i % 28) for i in range(n)], pa.date32()),
            "amount": pa.array([1234.5 if i % 2 else None for i in range(n)], pa.float64()),
            "details": pa.array(
                [{"situation": 1 + i % 6, "term_months": 24} for i in range(n)], details_type
            ),
        }
    )


def test_parquet_typed_columns_are_read_and_accepted(
    tmp_path: Path, court_validator: Validator
) -> None:
    path = tmp_path / "r.parquet"
    pq.write_table(_typed_table(), path)
    result = chunks(path)
    table = pa.concat_tables([c.table for c in result])
    assert table.column(LINE).to_pylist() == [1, 2, 3]
    assert table.schema.field("occurred_on").type == pa.date32()
    assert table.schema.field("amount").type == pa.float64()
    assert pa.types.is_struct(table.schema.field("details").type)
    validated = court_validator.validate(table)
    assert validated.rejected.num_rows == 0, validated.rejected.to_pylist()
    accepted = validated.accepted.to_pylist()
    assert [r["line"] for r in accepted] == [1, 2, 3]
    assert [r["occurred_on"] for r in accepted] == [
        dt.date(2025, 3, 1),
        dt.date(2025, 3, 2),
        dt.date(2025, 3, 3),
    ]
    assert [r["amount"] for r in accepted] == [None, pytest.approx(1234.5), None]
    assert [orjson.loads(r["details"]) for r in accepted] == [
        {"situation": 1, "term_months": 24},
        {"situation": 2, "term_months": 24},
        {"situation": 3, "term_months": 24},
    ]
    assert [r["subject_kind"] for r in accepted] == ["person", "person", "organisation"]


def test_truncated_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pq.write_table(_typed_table(30), path)
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    message = refused(path)
    assert str(path) in message
    assert "Parquet" in message


def test_parquet_unknown_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pq.write_table(_typed_table().append_column("face_image", pa.array(["x"] * 3)), path)
    message = refused(path)
    assert "'face_image'" in message


def test_parquet_missing_required_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pq.write_table(_typed_table().drop_columns(["occurred_on"]), path)
    assert "occurred_on" in refused(path)


# -- batching and formats ---------------------------------------------------------------------


def test_csv_batches(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [record(source_record_id=f"r{i}") for i in range(10)])
    result = chunks(path, batch_rows=3)
    assert [c.table.num_rows for c in result] == [3, 3, 3, 1]
    assert [v for c in result for v in c.table.column(LINE).to_pylist()] == list(range(2, 12))
    progress = [c.progress for c in result]
    assert progress == sorted(progress)
    assert progress[-1] == path.stat().st_size


def test_jsonl_batches(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", [record(source_record_id=f"r{i}") for i in range(10)])
    result = chunks(path, batch_rows=3)
    assert len(result) >= 4
    assert all(c.table.num_rows <= 3 for c in result)
    assert [v for c in result for v in c.table.column(LINE).to_pylist()] == list(range(1, 11))
    ids = [v for c in result for v in c.table.column("source_record_id").to_pylist()]
    assert ids == [f"r{i}" for i in range(10)]


def test_parquet_batches(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pq.write_table(_typed_table(10), path)
    file = RecordFile(path, batch_rows=3)
    assert file.total == 10
    result = list(file.chunks())
    assert len(result) >= 4
    assert all(c.table.num_rows <= 3 for c in result)
    assert [v for c in result for v in c.table.column(LINE).to_pylist()] == list(range(1, 11))
    assert result[-1].progress == 10


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "records.txt", [record()])
    with pytest.raises(FileFormatError) as info:
        RecordFile(path)
    assert "'.txt'" in str(info.value)
    assert "--format" in str(info.value)
    assert [r["source_record_id"] for r in rows(path, "csv")] == ["r1"]


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "records.csv", [record()])
    with pytest.raises(FileFormatError):
        RecordFile(path, "xml")


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json", ".JSONL"])
def test_json_lines_extensions(tmp_path: Path, suffix: str) -> None:
    path = write_jsonl(tmp_path / f"records{suffix}", [record()])
    assert RecordFile(path).fmt == "jsonl"
