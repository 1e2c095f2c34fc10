"""`xinyong demo`: a synthetic city generated, ingested through the real path, summarised."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import typer
from rich.table import Table

from xinyong.access.partners import add_partner, rotate_credential
from xinyong.cli.evaluate import print_summary
from xinyong.cli.output import console, err_console, handle_errors, print_json, progress_bar
from xinyong.cli.serve import check_address, export_settings, run_server
from xinyong.cli.state import context
from xinyong.clock import today
from xinyong.context import Context
from xinyong.credentials import issue_subject
from xinyong.demo.city import CityFiles
from xinyong.demo.due_process import RECEIPT, stage_due_process
from xinyong.demo.load import load_city
from xinyong.evaluation.batch import RunSummary, evaluate
from xinyong.feed.signatures import webhook_secret
from xinyong.ids import subject_key
from xinyong.ledger.ingest import IngestReport
from xinyong.ledger.queries import ledger_counts, subject_file
from xinyong.process.hooks import after_evaluation

DEMO_PARTNER = "demo-airline"


@handle_errors
def demo(
    ctx: typer.Context,
    persons: int = typer.Option(100_000, min=10, help="Persons living in the city."),
    consent_share: float = typer.Option(
        0.5,
        "--consent-share",
        min=0.0,
        max=1.0,
        help="Share of adults who opt in to the commercial score (0 to 1).",
    ),
    orgs: int = typer.Option(10_000, min=1, help="Companies and other organisations."),
    agencies: int = typer.Option(50, min=1, help="Government agencies."),
    seed: int = typer.Option(42, help="Random seed: the same seed makes the same city."),
    no_serve: bool = typer.Option(
        False, "--no-serve", help="Stop after evaluating instead of serving the city."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to serve on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to serve on."),
    webhook: str | None = typer.Option(
        None,
        help="Deliver the demo airline's change feed to this URL "
        "(try `xinyong partners receive --port 9000` and http://127.0.0.1:9000/).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Generate a synthetic city, ingest its records, evaluate it with the policy, and
    serve it: the decision service with a demo airline whose credential is printed with a
    ready-to-paste request.

    The records go through the same validation as any other ingest: a few deliberately
    malformed rows show the rejects path. Running it again adds nothing new (the demo
    airline gets a fresh credential).
    """
    from xinyong.demo import generate_city

    if not no_serve:
        check_address(host, port)  # before a minute of building, not after
    app = context(ctx)
    out = Path(app.settings.data_dir) / "demo" / f"city-{seed}-{persons}-{orgs}-{agencies}"
    say = (lambda m: None) if as_json else (lambda m: err_console.print(f"[dim]{m}[/]"))
    say(f"Generating the city into {out} ...")
    city = generate_city(
        out,
        persons=persons,
        orgs=orgs,
        agencies=agencies,
        seed=seed,
        today=today(app.settings.timezone),
        consent_share=consent_share,
        progress=say,
    )
    reports = load_city(app, city, progress=lambda label: progress_bar(label, enabled=not as_json))
    say("Evaluating the city with " + app.policy.label + " ...")
    evaluation = evaluate(app)
    after_evaluation(app)
    with app.store.transaction() as conn:
        counts = ledger_counts(conn)
        # A person listed today, so that `decide` shows a deny with its reasons.
        sample = conn.one(
            "SELECT s.identifier FROM list_entries e"
            " JOIN subjects s ON s.subject_key = e.subject_key"
            " WHERE e.run_id = ? AND e.list_id = 'judicial_defaulters' AND s.kind = 'person'"
            # Restricted in their own name only, so that one removal lifts every measure.
            " AND NOT EXISTS (SELECT 1 FROM active_measures m WHERE m.run_id = e.run_id"
            " AND m.subject_key = e.subject_key AND m.via_subject_key IS NOT NULL)"
            " ORDER BY CASE e.status WHEN 'active' THEN 0 ELSE 1 END, e.entry_id LIMIT 1",
            [evaluation.run_id],
        )
    say("Staging due process: objections, a repair, notices ...")
    due_process = stage_due_process(app, sample[0] if sample else None)
    with app.store.transaction() as conn:
        counts = ledger_counts(conn)  # with the records due process wrote
    listing = _listing_record(app, sample[0]) if sample else None
    receipt = Path(app.settings.data_dir) / "demo" / "receipt.pdf"
    receipt.write_bytes(RECEIPT)
    serving = None if no_serve else demo_partner(app, webhook)
    removal = write_removal(app, sample[0]) if sample else None
    url = f"http://{host}:{port}"
    portal = _portal_guide(app, url, sample[0] if sample else None)
    score_guide = _score_guide(app)
    summary = {
        "city": {
            "persons": city.persons,
            "organisations": city.organisations,
            "agencies": city.agencies,
            "records_generated": city.records,
            "deliberately_malformed": city.bad_rows,
        },
        "ingested": [r.to_dict() for r in reports],
        "ledger": counts,
        "store": app.store.describe(),
        "example_subject": sample[0] if sample else None,
        "example_removal": str(removal) if removal else None,
        "evaluation": evaluation.as_dict(),
        "due_process": due_process,
        "example_listing_record": listing,
        "portal": portal,
        "commercial_score": score_guide,
    }
    if serving:
        summary["serve"] = {"url": url, **serving}
    if as_json:
        print_json(summary)
    else:
        _print_summary(city, reports, counts, app.store.describe(), evaluation)
        _print_due_process(due_process)
        if sample and removal:
            _print_try(sample[0], removal, url, serving, listing, receipt)
        _print_portal(portal, serving is not None)
        _print_score(score_guide)
    if serving:
        export_settings(ctx)
        run_server(host, port, 1)


def _print_summary(
    city: CityFiles,
    reports: list[IngestReport],
    counts: dict[str, int],
    store: str,
    evaluation: RunSummary,
) -> None:
    table = Table(title="Demo city ingested", title_justify="left")
    for col in ("source", "read", "accepted", "duplicates", "rejected"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for r in reports:
        table.add_row(
            r.source_id,
            f"{r.read:,}",
            f"{r.accepted:,}",
            f"{r.duplicates:,}",
            f"[red]{r.rejected:,}[/]" if r.rejected else "0",
        )
    console.print(table)
    console.print(
        f"{city.persons:,} persons, {city.organisations:,} organisations, {city.agencies:,} agencies; "
        f"ledger: {counts['records']:,} records about {counts['subjects']:,} subjects "
        f"in {store}."
    )
    for r in reports:
        if r.rejects_file:
            console.print(f"Rejected rows of {r.source_id}: {r.rejects_file}")
    print_summary(evaluation)


def _listing_record(app: Context, subject: str) -> str | None:
    key = subject_key(app.secret, subject)
    with app.store.transaction() as conn:
        found = conn.scalar(
            "SELECT min(source_record_id) FROM current_records WHERE subject_key = ?"
            " AND category = 'judicial.defaulter.listed'",
            [key],
        )
    return str(found) if found else None


def _print_due_process(staged: dict[str, Any]) -> None:
    if not staged.get("staged"):
        return
    for o in staged["objections"]:
        state = o["status"] + (", overdue" if o["overdue"] else "")
        console.print(
            f"Objection {o['objection']} to {o['record']} ({o['source']}): {state}, "
            f"due {o['due_on']}.",
            highlight=False,
        )
    for skipped in staged.get("skipped", []):
        err_console.print(f"[yellow]Not staged: {skipped}[/]", highlight=False)
    repair = staged.get("repair")
    if repair:
        console.print(
            f"Repair {repair['repair']} of penalty {repair['record']}: {repair['status']}.",
            highlight=False,
        )
    console.print(
        "See them: [bold]xinyong objections list[/], [bold]xinyong objections list --overdue[/], "
        "[bold]xinyong repair list[/], [bold]xinyong notices list --english[/]"
    )


def _print_try(
    subject: str,
    removal: Path,
    url: str,
    serving: dict[str, str] | None,
    listing: str | None = None,
    receipt: Path | None = None,
) -> None:
    console.print(f"Try: [bold]xinyong subject show {subject}[/]")
    console.print(f"     [bold]xinyong decide {subject} flight.ticket.purchase[/]")
    console.print(f"     [bold]xinyong subject remedies {subject}[/] (what would lift it)")
    if listing:
        console.print(
            f"     [bold]xinyong objections file {subject} --record {listing} "
            f'--reason "I paid on 1 May" --evidence {receipt}[/] (disputed at once)',
            soft_wrap=True,
        )
    if not serving:
        console.print(f"     [bold]xinyong ingest {removal} --source demo-court[/] (delists them)")
        return
    body = f'{{"subject": "{subject}", "action": "flight.ticket.purchase"}}'
    console.print(
        f"\n[bold]Serving the city at {url}[/] (API docs: {url}/docs). "
        "As the demo airline, ask about a listed person:"
    )
    console.print(
        f"  curl -s {url}/v1/decisions -H 'Authorization: Bearer {serving['credential']}' "
        f"-H 'Content-Type: application/json' -d '{body}'",
        soft_wrap=True,
    )
    console.print(
        "In another terminal, delist them, ask again (allow), and see who asked:\n"
        f"  xinyong ingest {removal} --source demo-court\n"
        f"  xinyong subject access-log {subject}\n"
        "The change feed (long-poll; add -H 'Accept: text/event-stream' for a stream):\n"
        f"  curl -s '{url}/v1/changes?after=0&wait=30' "
        f"-H 'Authorization: Bearer {serving['credential']}'",
        soft_wrap=True,
    )
    if serving.get("webhook_secret"):
        console.print(
            f"Webhooks go to {serving['webhook']}, signed with {serving['webhook_secret']}"
        )
    err_console.print("[dim]Stop with Ctrl-C.[/]")


def _portal_guide(app: Context, url: str, listed: str | None) -> dict[str, Any]:
    """What to try on the portal: an organisation on the court's defaulter list to search for, and
    the listed person's letter credential to sign in with (issued afresh on each run)."""
    guide: dict[str, Any] = {"url": url + "/"}
    with app.store.transaction() as conn:
        org = conn.one(
            "SELECT r.details FROM current_records r JOIN subjects s"
            " ON s.subject_key = r.subject_key WHERE s.kind = 'organisation'"
            " AND r.category = 'administrative.registration' AND EXISTS (SELECT 1 FROM"
            " list_entries e JOIN eval_runs u ON u.run_id = e.run_id AND u.is_current"
            " WHERE e.subject_key = r.subject_key AND e.status = 'active'"
            " AND e.list_id = 'judicial_defaulters')"
            " ORDER BY r.event_id LIMIT 1"
        )
        if org:
            guide["search_for"] = orjson.loads(org[0]).get("name")
        if listed:
            key = subject_key(app.secret, listed)
            guide["sign_in"] = {"identifier": listed, "credential": issue_subject(conn, key)}
    return guide


def _score_guide(app: Context) -> dict[str, Any]:
    """A consenting person with a score and the commands to see the consent at work."""
    with app.store.transaction() as conn:
        found = conn.one(
            "SELECT s.identifier, c.points FROM scores c JOIN eval_runs u ON u.run_id = c.run_id"
            " AND u.is_current JOIN subjects s ON s.subject_key = c.subject_key"
            " WHERE c.score_id = 'commercial_score' ORDER BY c.points, s.identifier LIMIT 1"
            " OFFSET (SELECT count(*) FROM scores x JOIN eval_runs v ON v.run_id = x.run_id"
            " AND v.is_current WHERE x.score_id = 'commercial_score') / 10"
        )
        consenting = conn.scalar(
            "SELECT count(*) FROM scores c JOIN eval_runs u ON u.run_id = c.run_id"
            " AND u.is_current WHERE c.score_id = 'commercial_score'"
        )
    if not found:
        return {"consenting": 0}
    return {"consenting": int(consenting), "example": found[0], "points": int(found[1])}


def _print_score(guide: dict[str, Any]) -> None:
    if not guide.get("example"):
        return
    who = guide["example"]
    console.print(
        f"\n[bold]The commercial score[/]: {guide['consenting']:,} adults consented."
        f" One of them ({guide['points']} points):\n"
        f"  [bold]xinyong score show {who}[/] (the score and what would raise it)\n"
        f"  [bold]xinyong decide {who} deposit.waiver -c item=car -t ORDER-1[/]\n"
        f"  [bold]xinyong consent withdraw {who} --purpose commercial_score[/] (then ask again)",
        soft_wrap=True,
        highlight=False,
    )


def _print_portal(portal: dict[str, Any], serving: bool) -> None:
    where = portal["url"] if serving else f"{portal['url']} (after: xinyong serve)"
    console.print(f"\n[bold]The portal[/] at {where}", soft_wrap=True)
    if portal.get("search_for"):
        console.print(f"  Search for an organisation: {portal['search_for']}", soft_wrap=True)
    if portal.get("sign_in"):
        sign = portal["sign_in"]
        console.print(
            f"  Sign in as the listed person at {portal['url']}sign-in with\n"
            f"    identifier {sign['identifier']}\n    credential {sign['credential']}\n"
            "  (then choose a password of your own)",
            soft_wrap=True,
        )


def demo_partner(app: Context, webhook: str | None) -> dict[str, str]:
    """The demo airline, registered once; each demo run prints a fresh credential."""
    secret = app.secret
    with app.store.transaction() as conn:
        exists = conn.scalar("SELECT count(*) FROM partners WHERE partner_id = ?", [DEMO_PARTNER])
        if exists:
            credential = rotate_credential(conn, DEMO_PARTNER)
            if webhook:
                conn.execute(
                    "UPDATE partners SET webhook_url = ? WHERE partner_id = ?",
                    [webhook, DEMO_PARTNER],
                )
        else:
            _, credential = add_partner(
                conn,
                app.policy,
                app.catalog,
                name="Demo Airlines",
                kind="airline",
                partner_id=DEMO_PARTNER,
                webhook_url=webhook,
                purpose="ticket sales under the joint punishment memorandum",
            )
    found: dict[str, str] = {"partner": DEMO_PARTNER, "credential": credential}
    if webhook:
        found["webhook"] = webhook
        found["webhook_secret"] = webhook_secret(secret, DEMO_PARTNER)
    return found


def write_removal(app: Context, subject: str) -> Path | None:
    """A court's removal of the example person: delisting, and lifting of the restriction,
    under the document of the listing."""
    data = subject_file_of(app, subject)
    listing = [r for r in data["current_records"] if r["category"] == "judicial.defaulter.listed"]
    if not listing:
        return None
    document = listing[-1]["document"]
    day = today(app.settings.timezone).isoformat()
    lines = [
        {
            "source_record_id": f"demo-removal-{subject}-delisted",
            "subject": subject,
            "category": "judicial.defaulter.delisted",
            "occurred_on": day,
            "document": document,
            "details": {"reason": "performed"},
        },
    ]
    if any(
        r["category"] == "judicial.consumption_restriction.issued" and r["document"] == document
        for r in data["current_records"]
    ):
        lines.append(
            {
                "source_record_id": f"demo-removal-{subject}-lifted",
                "subject": subject,
                "category": "judicial.consumption_restriction.lifted",
                "occurred_on": day,
                "document": document,
                "details": {"reason": "performed"},
            }
        )
    path = Path(app.settings.data_dir) / "demo" / f"removal-{subject}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def subject_file_of(app: Context, subject: str) -> dict[str, Any]:
    secret = app.secret
    with app.store.transaction() as conn:
        return subject_file(conn, subject, secret)
