"""Due process in the demo city: a few listed persons who objected (one objection open, one
overdue, one upheld), a company whose penalty was repaired, and the notices they got.
Staged once; running the demo again adds nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from xinyong.clock import today
from xinyong.context import Context
from xinyong.errors import XinyongError
from xinyong.process.calendar import add_months
from xinyong.process.objections import decide_objection, file_objection
from xinyong.process.repairs import apply_for_repair, decide_repair

RECEIPT = b"%PDF-1.4\n% Demo city bank: receipt of payment in full\n%%EOF\n"


def stage_due_process(ctx: Context, example: str | None) -> dict[str, Any]:
    """Objections and a repair on other subjects than ``example`` (whom the README's walk
    through keeps for a deny, a removal and an allow)."""
    day = today(ctx.settings.timezone)
    with ctx.store.transaction() as conn:
        if conn.scalar("SELECT count(*) FROM objections") or conn.scalar(
            "SELECT count(*) FROM repairs"
        ):
            return {"staged": False, "records_written": 0}
        listed = conn.execute(
            "SELECT s.identifier, r.source_record_id FROM current_records r"
            " JOIN subjects s ON s.subject_key = r.subject_key"
            " WHERE r.category = 'judicial.defaulter.listed' AND s.kind = 'person'"
            " AND s.identifier <> ? ORDER BY r.event_id LIMIT 3",
            [example or ""],
        )
        penalty = conn.one(
            "SELECT s.identifier, r.source_record_id FROM current_records r"
            " JOIN subjects s ON s.subject_key = r.subject_key"
            " WHERE r.category = 'administrative.penalty' AND s.kind = 'organisation'"
            ' AND r.details LIKE \'%"severity":"general"%\' AND r.occurred_on <= ?'
            " AND NOT EXISTS (SELECT 1 FROM records g WHERE g.subject_key = r.subject_key"
            " AND g.category = 'credit.repair.granted' AND g.document = r.document)"
            " ORDER BY r.event_id LIMIT 1",
            [add_months(day, -4)],
        )
    staged: dict[str, Any] = {"staged": True, "objections": [], "repair": None}
    files = [("receipt.pdf", RECEIPT)]
    steps: list[tuple[str, Callable[[], None]]] = []
    if len(listed) >= 1:
        person, record = listed[0]
        steps.append(
            (
                "an open objection",
                lambda: staged["objections"].append(
                    file_objection(
                        ctx,
                        person,
                        record,
                        "I paid the whole sum; the receipt is attached.",
                        files=files,
                    )
                ),
            )
        )
    if len(listed) >= 2:
        late_person, late_record = listed[1]
        # Written to the court 40 days ago and never answered: overdue.
        steps.append(
            (
                "an overdue objection",
                lambda: staged["objections"].append(
                    file_objection(
                        ctx,
                        late_person,
                        late_record,
                        "The judgment was set aside on appeal.",
                        channel="paper",
                        received_on=day - dt.timedelta(days=40),
                    )
                ),
            )
        )
    if len(listed) >= 3:
        wrong_person, wrong_record = listed[2]

        def upheld() -> None:
            filed = file_objection(
                ctx, wrong_person, wrong_record, "I am not the debtor: the court took my namesake."
            )
            staged["objections"].append(
                decide_objection(
                    ctx, filed["objection"], uphold=True, reason="Wrong person; listing revoked."
                )
            )

        steps.append(("an upheld objection", upheld))
    if penalty is not None:
        company, penalty_record = penalty

        def repaired() -> None:
            applied = apply_for_repair(
                ctx,
                company,
                penalty_record,
                "We corrected the labels and will publish an annual compliance report.",
            )
            staged["repair"] = decide_repair(
                ctx, applied["repair"], grant=True, reason="Correction verified on inspection."
            )

        steps.append(("a granted repair", repaired))
    # The demo's decorations never stop the demo: what could not be staged is said.
    with ctx.store.transaction() as conn:
        before = int(conn.scalar("SELECT count(*) FROM records"))
    for what, step in steps:
        try:
            step()
        except XinyongError as exc:
            staged.setdefault("skipped", []).append(f"{what}: {exc.message}")
    with ctx.store.transaction() as conn:
        # An upheld objection revokes a record and a granted repair writes one, through the
        # ledger like any other record.
        staged["records_written"] = int(conn.scalar("SELECT count(*) FROM records")) - before
    return staged
