"""`xinyong score`: the commercial score of one subject, and the model behind it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from xinyong.cli.output import console, err_console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.errors import ConfigurationError
from xinyong.ids import parse_subject, subject_key
from xinyong.score.standing import standing

app = typer.Typer(
    help="The commercial score: a subject's score and reasons, the model card, training and"
    " the fairness audit.",
    no_args_is_help=True,
)


def print_standing(entry: dict[str, Any]) -> None:
    if entry["points"] is None:
        console.print(f"{entry['label']}: none. {entry['none']['message']}", highlight=False)
        return
    low, high = entry["range"] or ("", "")
    console.print(
        f"[bold]{entry['label']}: {entry['points']}[/] ({low} to {high}; {entry['grade_label']})"
        f", as of {entry['evaluated_as_of']}, holds until {entry['valid_until'] or 'changed'}.",
        highlight=False,
    )
    if not entry["reasons"]:
        console.print("Nothing costs it points: every feature is at its best.")
    for n, r in enumerate(entry["reasons"], 1):
        console.print(f"{n}. {r['label']} (-{r['points_lost']} points)", highlight=False)
        if r["raise_by"]:
            console.print(f"   What would raise it: {r['raise_by']}", highlight=False)


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """The subject's commercial score with up to four reasons (the features that cost it
    most against their best), each with what would raise it; or why there is none."""
    app = context(ctx)
    parsed = parse_subject(identifier)
    key = subject_key(app.secret, parsed.identifier)
    with app.store.transaction() as conn:
        found = standing(conn, app.policy, key)
    if as_json:
        print_json({"scores": found})
        return
    for entry in found:
        print_standing(entry)


def _needs_extra() -> None:
    try:
        import fairlearn  # noqa: F401
        import optbinning  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "Fitting and auditing the scorecard needs the [score] extra (optbinning, fairlearn).",
            hint="pip install 'xinyong[score]'",
        ) from None


@app.command("train")
@handle_errors
def train(
    ctx: typer.Context,
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Publish: write the current policy with the fitted card to this new directory"
        " (then run with XINYONG_POLICY=DIR and `xinyong evaluate`). Without it, only report.",
    ),
    test_date: dt.datetime | None = typer.Option(
        None,
        "--test-date",
        formats=["%Y-%m-%d"],
        help="Observation date of the out-of-time test set (default: 12 months ago, the latest"
        " whose 12-month outcome window has closed); training uses 12 and 24 months before it.",
    ),
    override_fairness: str | None = typer.Option(
        None,
        "--override-fairness",
        help="Publish although the fairness audit breaches its limits, for this reason"
        " (recorded in the card and the audit log).",
    ),
    boot: int = typer.Option(
        50, "--bootstrap", min=0, help="Bootstrap resamples for the intervals."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the model report as JSON."),
) -> None:
    """Fit the commercial scorecard on the ledger's history of consenting subjects: optimal
    monotonic binning and logistic regression (optbinning), scaled to 350-950, split by time;
    report AUC, KS, calibration, stability and the fairness audit; publish with --out."""
    _needs_extra()
    from xinyong.score.train import months_before, publish
    from xinyong.score.train import train as fit

    app = context(ctx)
    day = test_date.date() if test_date else None
    say = (lambda m: None) if as_json else (lambda m: err_console.print(f"[dim]{m}[/]"))
    training = fit(
        app,
        test_date=day,
        train_dates=[months_before(day, 12), months_before(day, 24)] if day else None,
        n_boot=boot,
        say=say,
    )
    if out is not None:
        publish(app, training, out, override=override_fairness, by="cli")
    report = training.report()
    if as_json:
        print_json({**report, "published": str(out) if out else None})
        return
    metrics = report["metrics"]
    console.print(
        f"[bold]Fitted {training.score.id} {training.version}[/]: test AUC {metrics['test_auc']},"
        f" KS {metrics['test_ks']}, PSI {metrics['psi_train_to_test']}; trained on"
        f" {report['train']['rows']:,} observations, tested on {report['test']['rows']:,}.",
        highlight=False,
    )
    breaches = training.audit.breaches()
    console.print("Fairness: " + ("; ".join(breaches) if breaches else "within the limits."))
    if out is not None:
        console.print(f"Published to {out}: XINYONG_POLICY={out} xinyong evaluate")
    else:
        console.print("Not published (pass --out DIR to write the policy with this card).")


@app.command("card")
@handle_errors
def card(ctx: typer.Context) -> None:
    """Print the model card of the commercial score in force (Markdown): data, period,
    features and points, AUC, KS, calibration, stability, fairness audit, known limits."""
    from xinyong.score.card import model_card
    from xinyong.score.train import the_score

    app = context(ctx)
    print(model_card(the_score(app.policy, None)))


@app.command("audit")
@handle_errors
def audit(
    ctx: typer.Context,
    observed_on: dt.datetime | None = typer.Option(
        None,
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Score the consenting subjects as of this past date and compare with the 12"
        " months after (default: the card's test date).",
    ),
    boot: int = typer.Option(
        50, "--bootstrap", min=0, help="Bootstrap resamples for the intervals."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the audit as JSON."),
) -> None:
    """Fairness audit of the card in force: approval at each partner threshold and error
    rates by age band and by sex (attributes derived from the identifier for the audit only,
    never read by the score), with 95% intervals and the parity and equalised-odds
    differences against their limits. Exit 1 when a limit is breached."""
    _needs_extra()
    from xinyong.score.train import audit_card

    app = context(ctx)
    score, checked, _subjects = audit_card(
        app, observed_on=observed_on.date() if observed_on else None, n_boot=boot
    )
    if as_json:
        print_json({"score": score.id, **checked.as_dict()})
    else:
        print(checked.to_markdown())
    if checked.breaches():
        raise typer.Exit(1)
