"""Cases a subject opens about one of its records (objections, repair applications) and the
source decides: one table each, read and decided the same way."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from xinyong.clock import utcnow
from xinyong.errors import NotFound
from xinyong.store.base import Connection


@dataclass(frozen=True)
class CaseTable:
    table: str  # constants below, never data: safe to write into SQL
    id_column: str
    prefix: str
    noun: str
    list_command: str

    def next_id(self, conn: Connection) -> str:
        """Sequential case ids (rows are never deleted; callers hold the merge lock)."""
        count = int(conn.scalar(f"SELECT count(*) FROM {self.table}"))
        return f"{self.prefix}-{count + 1:06d}"

    def get(self, conn: Connection, case_id: str) -> dict[str, Any]:
        rows = conn.dicts(f"SELECT * FROM {self.table} WHERE {self.id_column} = ?", [case_id])
        if not rows:
            raise NotFound(
                f"No {self.noun} {case_id!r}.",
                hint=f"`{self.list_command}` shows them.",
                code=f"{self.table.removesuffix('s')}_unknown",
            )
        return rows[0]

    def decide(
        self, conn: Connection, case_id: str, status: str, reason: str, by: str, on: dt.date
    ) -> None:
        conn.execute(
            f"UPDATE {self.table} SET status = ?, decision_reason = ?, decided_by = ?,"
            f" decided_at = ?, decided_on = ? WHERE {self.id_column} = ?",
            [status, reason, by, utcnow(), on, case_id],
        )

    def listing(
        self,
        conn: Connection,
        *,
        subject_key: str | None = None,
        source_id: str | None = None,
        status: str | None = None,
        overdue_on: dt.date | None = None,
    ) -> list[dict[str, Any]]:
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        for column, value in (
            ("subject_key", subject_key),
            ("source_id", source_id),
            ("status", status),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if overdue_on is not None:
            where.append("status = 'open' AND due_on < ?")
            params.append(overdue_on)
        return conn.dicts(
            f"SELECT * FROM {self.table} WHERE " + " AND ".join(where)
            + f" ORDER BY {self.id_column}",
            params,
        )


OBJECTIONS = CaseTable("objections", "objection_id", "OBJ", "objection", "xinyong objections list")
REPAIRS = CaseTable("repairs", "repair_id", "REP", "repair application", "xinyong repair list")
