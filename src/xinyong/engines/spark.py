"""The Spark engine: the plan, transpiled by sqlglot, runs on Apache Spark.

Spark reads a Parquet export of the ledger's current records (as of the evaluation date)
and writes each output as Parquet, which the store then loads; the store's lock is held
only for the export and for the load, not while Spark works. Local mode needs Java 17+;
``XINYONG_SPARK_MASTER`` points at a cluster instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from xinyong.engines.base import (
    RECORD_COLUMNS,
    SUBJECT_COLUMNS,
    Engine,
    Step,
    output_columns,
)
from xinyong.errors import ConfigurationError, EngineError, XinyongError
from xinyong.policy.compiler import OUTPUTS, Plan
from xinyong.sql import literal
from xinyong.store.base import Connection, Store

RECORDS_SCHEMA = pa.schema(
    [
        ("event_id", pa.int64()),
        ("subject_key", pa.string()),
        ("category", pa.string()),
        ("occurred_on", pa.date32()),
        ("amount", pa.float64()),
        ("document", pa.string()),
        ("details", pa.string()),
    ]
)
SUBJECTS_SCHEMA = pa.schema(
    [
        ("subject_key", pa.string()),
        ("kind", pa.string()),
        ("birth_date", pa.date32()),
    ]
)

_SESSION: Any = None


def spark_session(master: str = "local[2]") -> Any:
    """One Spark session per process, bound to loopback, without its web UI."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigurationError(
            "The Spark engine needs pyspark, which is not installed.",
            hint="Install it with: python -m pip install -e '.[spark]'",
        ) from None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", "python3")
    _SESSION = (
        SparkSession.builder.master(master)
        .appName("xinyong-evaluate")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        # A plan is a few dozen small queries: planning and code generation, not data,
        # dominate them in local mode.
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("XINYONG_SPARK_PARTITIONS", "4"))
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


class SparkEngine(Engine):
    name = "spark"
    dialect = "spark"

    def __init__(self, master: str = "local[2]", partitions: int = 2) -> None:
        self.master = master
        self.partitions = partitions

    def prepare(
        self, store: Store, plan: Plan, work_dir: Path, step: Step | None = None
    ) -> dict[str, list[Path]]:
        work_dir.mkdir(parents=True, exist_ok=True)
        records, subjects = work_dir / "in_records.parquet", work_dir / "in_subjects.parquet"
        columns = RECORD_COLUMNS.replace("amount", "CAST(amount AS DOUBLE) AS amount")
        with store.transaction() as conn:
            store.export_parquet(
                conn,
                f"SELECT {columns} FROM current_records WHERE occurred_on <= "
                + literal(plan.as_of),
                records,
                RECORDS_SCHEMA,
            )
            store.export_parquet(
                conn, f"SELECT {SUBJECT_COLUMNS} FROM subjects", subjects, SUBJECTS_SCHEMA
            )
        spark = spark_session(self.master)
        try:
            return self._run(spark, plan, records, subjects, work_dir, step)
        except Exception as exc:  # py4j and Spark analysis errors: report, don't dump a trace
            if isinstance(exc, XinyongError):
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(f"Spark could not evaluate the policy: {first}") from exc

    def _run(
        self,
        spark: Any,
        plan: Plan,
        records: Path,
        subjects: Path,
        work_dir: Path,
        step: Step | None,
    ) -> dict[str, list[Path]]:
        spark.read.parquet(str(records)).createOrReplaceTempView("in_records")
        spark.read.parquet(str(subjects)).createOrReplaceTempView("in_subjects")
        for done, stage in enumerate(plan.stages):
            if step:
                step(f"Spark: {stage.name}", done, len(plan.stages), "stages")
            # Materialise each stage once: later stages read it again, and Spark would
            # otherwise recompute the whole lineage at every reference.
            frame = spark.sql(self.translate(stage.sql)).coalesce(self.partitions).cache()
            frame.count()
            frame.createOrReplaceTempView(stage.name)
        out: dict[str, list[Path]] = {}
        for name in OUTPUTS:
            target = work_dir / name
            spark.table(name).coalesce(1).write.mode("overwrite").parquet(str(target))
            out[name] = sorted(target.glob("*.parquet"))
        for stage in plan.stages:
            spark.catalog.dropTempView(stage.name)
        spark.catalog.clearCache()
        return out

    def materialise(
        self,
        store: Store,
        conn: Connection,
        plan: Plan,
        prepared: dict[str, list[Path]] | None,
        scoped: bool,
        step: Step | None = None,
    ) -> None:
        assert prepared is not None and not scoped
        for name in OUTPUTS:
            store.load_staged(conn, name, prepared[name], output_columns(name))

    def cleanup(self, conn: Connection, plan: Plan) -> None:
        """The loaded outputs are temporary: they go with the transaction's connection."""
