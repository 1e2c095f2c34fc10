"""Printing a subject's evaluated state: lists, scores, measures, each with its reasons."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from xinyong.cli.output import console


def _disputed(item: dict[str, Any]) -> str:
    if not item.get("disputed"):
        return ""
    return f"\n[yellow]disputed: {item['objection']}, decided by {item['objection_due']}[/]"


def print_state(state: dict[str, Any] | None) -> None:
    if not state:
        return
    if "not_evaluated" in state:
        console.print(f"[yellow]{state['not_evaluated']}[/]")
        return
    ev = state["evaluation"]
    how = "replayed on the spot" if ev["replay"] else f"run {ev['run_id']}"
    console.print(f"\n[bold]Credit state[/] as of {ev['as_of']} under {ev['policy']} ({how})")
    if state["lists"]:
        table = Table(title="Lists", title_justify="left", show_lines=True)
        for c in ("list", "status", "from", "until", "records", "legal basis"):
            table.add_column(c, overflow="fold")
        for e in state["lists"]:
            status = e["status"]
            if e["refused_by"]:
                status += f": {e['refused_by']['reason']} ({e['refused_by']['legal_basis']})"
            elif e["end_reason"] and e["status"] == "ended":
                status += f" ({e['end_reason']})"
            records = "\n".join(
                f"{r['role']} #{r['event_id']} {r.get('category', '')} {r.get('occurred_on', '')}"
                f" {r.get('document') or ''}".rstrip()
                + _disputed(r)
                for r in e["records"]
            )
            table.add_row(
                f"{e['label']} [dim]({e['list']}, {e['kind']})[/]",
                status,
                e["entered_on"] or "",
                e["ends_on"] or "open",
                records,
                f"{e['legal_basis']}\n[dim]{e['rule']}[/]",
            )
        console.print(table)
    for s in state["scores"]:
        if "features" in s:  # a scorecard: features and reasons, not records
            print_card(s)
            continue
        table = Table(
            title=f"{s['label']}: {s['points']} points, grade {s['grade']}"
            f" ({s['grade_label']}); base {s['base']}",
            title_justify="left",
        )
        for c in ("record", "rule", "points", "counts until", "legal basis"):
            table.add_column(c, overflow="fold")
        for c in s["contributions"]:
            table.add_row(
                f"#{c['event_id']} {c.get('category', '')} {c.get('occurred_on', '')}",
                c["rule"],
                f"{c['points']:+d}",
                c["counts_until"] or "",
                c["legal_basis"] or "",
            )
        console.print(table)
    if state["measures"]:
        table = Table(title="Active measures", title_justify="left", show_lines=True)
        for c in ("measure", "trigger", "applies as", "until", "legal basis", "remedy"):
            table.add_column(c, overflow="fold")
        for m in state["measures"]:
            trigger = f"{m['trigger']['kind']} {m['trigger']['id']}"
            if m["trigger"]["kind"] == "score":
                trigger += f" grade {m['trigger']['ref']}"
            role = m["applies_as"]
            if m["via"]:
                role += f" of {m['via']['identifier']}"
            table.add_row(
                f"{m['label']} [dim]({m['measure']}, {m['kind']})[/]\n"
                + ", ".join(m["actions"])
                + _disputed(m),
                trigger,
                role,
                m["valid_until"] or "open",
                m["legal_basis"] or "",
                m["remedy"] or "",
            )
        console.print(table)
    else:
        console.print("No measures apply.")
    for f in state["flags"]:
        console.print(
            f"[yellow]Record #{f['event_id']} flagged[/] for {f['list']}: "
            f"{f['reason']} ({f['legal_basis']})."
        )


def print_card(s: dict[str, Any]) -> None:
    """A scorecard score: its features and points, then the reasons, each with what would
    raise it (the commercial score exists only by the subject's consent)."""
    console.print(
        f"\n[bold]{s['label']}: {s['points']}[/] ({s['grade_label']}), by your consent",
        highlight=False,
    )
    table = Table(title_justify="left")
    for c in ("feature", "value", "points", "best"):
        table.add_column(c, overflow="fold")
    for f in s["features"]:
        value = "none" if f["value"] is None else f"{f['value']:g}"
        table.add_row(f["label"], value, str(f["points"]), str(f["best"]))
    console.print(table)
    for n, r in enumerate(s["reasons"], 1):
        console.print(f"Reason {n}: {r['label']} (-{r['points_lost']} points)", highlight=False)
        if r["raise_by"]:
            console.print(f"  What would raise it: {r['raise_by']}", highlight=False)
