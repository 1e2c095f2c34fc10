"""``/transparency``: the transparency figures as a page, each chart beside a table of its
numbers. The figures come from ``portal.transparency`` (the same dict the API serves as
JSON at ``/v1/public/transparency``); this module only puts them into words and charts in
the reader's language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.dates import format_skeleton, format_timedelta
from babel.numbers import format_decimal, format_percent
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from xinyong.portal import i18n
from xinyong.portal.charts import Bar, bar_chart, column_chart
from xinyong.portal.pages import render, service
from xinyong.portal.transparency import COMPLEMENTARY, MEASURES, figures

JSON_URL = "/v1/public/transparency"
CHART_MONTHS = 12  # the charts and their tables show the last twelve months; the JSON all


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; translated where shown."""
    return message


SUBJECT_KINDS = {
    "person": N_("Persons"),
    "organisation": N_("Organisations"),
    "agency": N_("Government agencies"),
}
OWNERSHIP = {
    "state_owned": N_("State-owned"),
    "collective": N_("Collective"),
    "private": N_("Private"),
    "foreign": N_("Foreign-invested"),
    "mixed": N_("Mixed ownership"),
    "public": N_("Public institution"),
    "unregistered": N_("No registration record"),
}
PARTNER_KINDS = {
    "airline": N_("Airlines"),
    "dealer": N_("Vehicle dealers"),
    "developer": N_("Property developers"),
    "hotel": N_("Hotels"),
    "insurer": N_("Insurers"),
    "landlord": N_("Landlords"),
    "lender": N_("Lenders"),
    "market_regulator": N_("Market regulators"),
    "procurement": N_("Public procurement"),
    "railway": N_("Railways"),
    "real_estate_registry": N_("Real estate registries"),
    "rental": N_("Rental companies"),
    "school": N_("Schools"),
    "shipping": N_("Shipping lines"),
    "tax": N_("Tax authorities"),
    "transport": N_("Public transport"),
    "travel_agency": N_("Travel agencies"),
    "vehicle_registry": N_("Vehicle registries"),
    "venue": N_("Venues"),
    "command_line": N_("Operators (command line)"),
    "unknown": N_("Partners no longer registered"),
}
CAUSES = {
    "records": N_("A removal record from a source"),
    "expiry": N_("The term ran out"),
    "evaluation": N_("A new evaluation (policy change)"),
    "objection": N_("An objection"),
}
LIST_KINDS = {"black": N_("black list"), "red": N_("red list")}


class Words:
    """Translation and number formats of one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.where = i18n.BABEL_LOCALES[lang]
        self.translate = i18n.translations(lang).gettext

    def __call__(self, message: str, **values: Any) -> str:
        text = self.translate(message)
        return text % values if values else text

    def num(self, value: float | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.where)

    def pct(self, value: float | None) -> str:
        return "" if value is None else format_percent(value, "#,##0.0%", locale=self.where)

    def month(self, key: str, skeleton: str = "yMMM") -> str:
        return format_skeleton(skeleton, dt.date.fromisoformat(key + "-01"), locale=self.where)

    def seconds(self, value: float | None) -> str:
        _ = self
        if value is None:
            return ""
        if value < 1:
            return _("under a second")
        return format_timedelta(dt.timedelta(seconds=value), threshold=1.5, locale=self.where)

    def label(self, table: dict[str, str], key: str) -> str:
        return self.translate(table[key]) if key in table else key


def months_window(day: dt.date, count: int = CHART_MONTHS) -> list[str]:
    """The ``count`` months up to and including ``day``'s, oldest first, as YYYY-MM."""
    y, m = day.year, day.month
    out = []
    for _ in range(count):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def view(figs: dict[str, Any], lang: str) -> dict[str, Any]:
    """What the template shows: rows of text and the charts, in ``lang``."""
    _ = Words(lang)
    day = dt.date.fromisoformat(figs["as_of"])
    window = months_window(day)
    span = {"start": _.month(window[0]), "end": _.month(window[-1])}
    return {
        "figures": figs,
        "as_of": day,
        "span": span,
        "lists": _lists(figs["lists"], _, window, span),
        "feed": _feed(figs["feed"], _, window, span),
        "objections": _cases(figs["objections"], _, "objections", window),
        "repairs": _cases(figs["repairs"], _, "repairs", window),
        "decisions": _decisions(figs["decisions"], _),
        "equality": _equality(figs["equality"], _, figs["min_cell"]),
    }


def _lists(
    lists: dict[str, Any] | None, _: Words, window: list[str], span: dict[str, str]
) -> dict[str, Any] | None:
    if lists is None:
        return None
    by_month = {r["month"]: r for r in lists["by_month"]}
    months = [
        {
            "month": _.month(key),
            "listings": by_month.get(key, {}).get("listings", 0),
            "removals": by_month.get(key, {}).get("removals", 0),
        }
        for key in window
    ]
    listed = sum(r["listings"] for r in months)
    removed = sum(r["removals"] for r in months)
    series = [_("Listings"), _("Removals")]
    monthly = column_chart(
        "listings-by-month",
        _("Listings and removals by month"),
        _(
            "Columns for each month from %(start)s to %(end)s: %(listings)s listings and "
            "%(removals)s removals in all. The table beside the chart gives each month.",
            listings=_.num(listed),
            removals=_.num(removed),
            **span,
        ),
        [_.month(k, "MMM") for k in window],
        series,
        [[r["listings"], r["removals"]] for r in months],
        tick_label=_.num,
    )
    rows = [
        {
            **r,
            "label": _.translate(r["label"]),
            "kind_label": _.label(LIST_KINDS, r["kind"]),
        }
        for r in lists["lists"]
    ]
    by_list = bar_chart(
        "listings-by-list",
        _("Listings and removals by list"),
        _(
            "One group of bars for each of the %(count)s lists: its listings and its "
            "removals since records began. The table beside the chart gives the numbers.",
            count=_.num(len(rows)),
        ),
        [r["label"] for r in rows],
        series,
        [
            [Bar(r["listings"], _.num(r["listings"])), Bar(r["removals"], _.num(r["removals"]))]
            for r in rows
        ],
    )
    return {
        "evaluated_as_of": dt.date.fromisoformat(lists["evaluated_as_of"]),
        "months": months,
        "rows": rows,
        "monthly_chart": monthly,
        "list_chart": by_list,
    }


def _feed(
    feed: dict[str, Any], _: Words, window: list[str], span: dict[str, str]
) -> dict[str, Any]:
    by_month = {r["month"]: r for r in feed["by_month"]}
    months = []
    for key in window:
        r = by_month.get(key, {})
        months.append(
            {
                "month": _.month(key),
                "removals": r.get("removals", 0),
                "median": _.seconds(r.get("median_seconds")),
                "slowest": _.seconds(r.get("max_seconds")),
            }
        )
    chart = column_chart(
        "feed-by-month",
        _("Removals published to partners by month"),
        _(
            "Columns for each month from %(start)s to %(end)s: %(removals)s ends of measures "
            "published on the change feed in all. The table beside the chart gives each "
            "month, with the time from the removal to its publication.",
            removals=_.num(sum(r["removals"] for r in months)),
            **span,
        ),
        [_.month(k, "MMM") for k in window],
        [_("Removals")],
        [[r["removals"]] for r in months],
        tick_label=_.num,
    )
    causes = [
        {
            "cause": _.label(CAUSES, r["cause"]),
            "removals": r["removals"],
            "median": _.seconds(r["median_seconds"]),
            "p90": _.seconds(r["p90_seconds"]),
            "slowest": _.seconds(r["max_seconds"]),
        }
        for r in feed["by_cause"]
    ]
    hooks = feed["webhooks"]
    return {
        "removals": feed["removals"],
        "months": months,
        "chart": chart,
        "causes": causes,
        "webhooks": {
            **hooks,
            "oldest_waited": _.seconds(hooks["oldest_waiting_seconds"]),
        },
    }


_CASE_WORDS = {
    "objections": ("upheld", "rejected", N_("Upheld"), N_("Rejected")),
    "repairs": ("granted", "refused", N_("Granted"), N_("Refused")),
}


def _cases(cases: dict[str, Any], _: Words, table: str, window: list[str]) -> dict[str, Any]:
    yes, no, yes_label, no_label = _CASE_WORDS[table]
    in_time = cases["open"] - cases["overdue"]
    outcomes = [
        (_.translate(yes_label), cases[yes]),
        (_.translate(no_label), cases[no]),
        (_("Open, within the deadline"), in_time),
        (_("Open, past the deadline"), cases["overdue"]),
    ]
    title = (
        _("Objections by outcome") if table == "objections" else _("Repair applications by outcome")
    )
    chart = bar_chart(
        f"{table}-outcomes",
        title,
        _(
            "Bars for each outcome of the %(filed)s cases filed: %(yes)s %(yes_label)s, "
            "%(no)s %(no_label)s, %(open)s open within the deadline and %(overdue)s open past it.",
            filed=_.num(cases["filed"]),
            yes=_.num(cases[yes]),
            yes_label=_.translate(yes_label).lower(),
            no=_.num(cases[no]),
            no_label=_.translate(no_label).lower(),
            open=_.num(in_time),
            overdue=_.num(cases["overdue"]),
        ),
        [label for label, _n in outcomes],
        [_("Cases")],
        [[Bar(n, _.num(n))] for _label, n in outcomes],
    )
    timing = cases["days_to_decision"]
    by_month = {r["month"]: r for r in cases["by_month"]}
    months = [
        {
            "month": _.month(k),
            **{c: by_month.get(k, {}).get(c, 0) for c in ("filed", yes, no, "open", "overdue")},
        }
        for k in window
        if k in by_month
    ]
    return {
        **cases,
        "yes": yes,
        "no": no,
        "yes_label": _.translate(yes_label),
        "no_label": _.translate(no_label),
        "outcomes": outcomes,
        "chart": chart,
        "timing": timing,
        "months": months,
    }


def _decisions(decisions: dict[str, Any], _: Words) -> dict[str, Any]:
    rows = [
        {**r, "kind_label": _.label(PARTNER_KINDS, r["partner_kind"])}
        for r in decisions["by_partner_kind"]
    ]
    chart = bar_chart(
        "decisions-by-kind",
        _("Decisions by kind of partner and outcome"),
        _(
            "One group of bars for each kind of partner: how many of its questions were "
            "answered allow and how many deny; %(total)s decisions in all.",
            total=_.num(decisions["total"]),
        ),
        [r["kind_label"] for r in rows],
        [_("Allowed"), _("Denied")],
        [[Bar(r["allow"], _.num(r["allow"])), Bar(r["deny"], _.num(r["deny"]))] for r in rows],
    )
    return {**decisions, "rows": rows, "chart": chart if rows else None}


def _cell(cell: dict[str, Any], _: Words, fewer: str, rate: bool = True) -> dict[str, Any]:
    """A published count as text: "12 (3.4%)", or why it is not shown."""
    if cell["suppressed"] is not None:
        text = _("withheld") if cell["suppressed"] == COMPLEMENTARY else fewer
        return {"text": text, "suppressed": True}
    if rate and cell.get("rate") is not None:
        text = f"{_.num(cell['count'])} ({_.pct(cell['rate'])})"
    else:
        text = _.num(cell["count"])
    return {"text": text, "suppressed": False}


def _equality(eq: dict[str, Any] | None, _: Words, min_cell: int) -> dict[str, Any] | None:
    if eq is None:
        return None
    fewer = _("fewer than %(n)s", n=_.num(min_cell))

    def row(r: dict[str, Any], other: str) -> dict[str, Any]:
        if r.get("pooled"):
            group = other
        elif "group" in r:
            place = r.get("label")
            group = f"{place} ({r['group']})" if place else _.label(OWNERSHIP, str(r["group"]))
        else:
            group = ""
        return {
            "kind": _.label(SUBJECT_KINDS, r["kind"]),
            "group": group,
            "subjects": _cell(r["subjects"], _, fewer, rate=False),
            "cells": [_cell(r[c], _, fewer) for c in MEASURES],
        }

    kinds = [row(r, "") for r in eq["by_kind"]]
    chart = bar_chart(
        "equality-by-kind",
        _("Listed, as a share of each kind of subject"),
        _(
            "For each kind of subject, the share of all subjects of that kind that is on a "
            "black list and on a red list. Figures for fewer than %(n)s subjects are not shown.",
            n=_.num(min_cell),
        ),
        [k["kind"] for k in kinds],
        [_("Black-listed"), _("Red-listed")],
        [[_bar(r[c], _, fewer) for c in ("black_listed", "red_listed")] for r in eq["by_kind"]],
    )
    return {
        "as_of": dt.date.fromisoformat(eq["as_of"]),
        "kinds": kinds,
        "chart": chart,
        "ownership": [row(r, _("Other ownership, together")) for r in eq["by_ownership"]],
        "regions": [row(r, _("Other regions, together")) for r in eq["by_region"]],
    }


def _bar(cell: dict[str, Any], _: Words, fewer: str) -> Bar:
    if cell["suppressed"] is not None:
        return Bar(None, _("withheld") if cell["suppressed"] == COMPLEMENTARY else fewer)
    return Bar(cell["rate"] * 100, _.pct(cell["rate"]))


async def transparency(request: Request) -> Response:
    figs = await run_in_threadpool(figures, service(request))
    lang = i18n.language(request)
    return render(request, "transparency/index.html", view(figs, lang), json_url=JSON_URL)


ROUTES: list[BaseRoute] = [Route("/transparency", transparency, methods=["GET"])]
