"""The credit report: a subject's file as a PDF to hand to a landlord or a tender office,
signed by the deployment (``xinyong.signing``) so that anyone can check it.

It shows what a reader needs and no more: the masked identifier and kind, the lists, score
and measures in force with their legal basis and remedy, the records behind them (marked
when disputed), the open objections, and how to verify the file. Text is in Chinese
(default) or English; the font is the PDF standard CID font STSong-Light, which every PDF
reader has, so no font file is shipped or embedded.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from babel.dates import format_date, format_datetime
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import BaseDocTemplate

from xinyong import signing
from xinyong.catalog import Catalog
from xinyong.decisions.service import Service
from xinyong.ids.masking import mask
from xinyong.portal import i18n
from xinyong.portal.file import whole_file

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

Gettext = Callable[[str], str]
MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
LINE = colors.HexColor("#b8c2cc")
BAND = colors.HexColor("#eef2f6")
INK = colors.HexColor("#1b1b1b")
MUTED = colors.HexColor("#555555")


def signed_report(service: Service, identifier: str, *, lang: str, issuer: str) -> bytes:
    """The subject's signed report (run it off the event loop: it reads the store)."""
    data = whole_file(service, identifier)
    signer = signing.load_or_create(service.settings.data_dir)
    issued_at = signing.issued_now(service.settings.timezone)
    sources = {s.source_id: s.name for s in service.sources.values()}
    pdf = render(
        data,
        lang=lang,
        catalog=service.ctx.catalog,
        sources=sources,
        issuer=issuer,
        issued_at=issued_at,
        key_id=signer.key_id,
    )
    return signer.sign(pdf, issued_at)


def render(
    data: dict[str, Any],
    *,
    lang: str,
    catalog: Catalog,
    sources: dict[str, str],
    issuer: str,
    issued_at: dt.datetime,
    key_id: str,
) -> bytes:
    """The report's PDF, unsigned. Same input, same bytes (``invariant``), so tests hold."""
    _ = functools.partial(i18n.gettext, lang)
    styles = _styles(lang)
    where = i18n.BABEL_LOCALES[lang]
    masked = mask(data["identifier"])
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        title=_("Credit report"),
        subject=masked,
        author=issuer,
        creator="xinyong",
        lang=i18n.TAGS[lang],
        invariant=1,
    )
    report = _Report(_, styles, where, catalog, sources)
    story = report.story(data, masked, issuer, issued_at, key_id)
    footer = _("Credit report for %(subject)s | issued %(date)s | page %(page)s")

    # The document's dates are the time of issue (``invariant`` would say 2000-01-01).
    zone = issued_at.strftime("%z")  # +0800; PDF writes +08'00'
    pdf_date = issued_at.strftime("D:%Y%m%d%H%M%S") + f"{zone[:3]}'{zone[3:5]}'"

    def on_page(canvas: Canvas, template: BaseDocTemplate) -> None:
        canvas.setDateFormatter(lambda *_fields: pdf_date)
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        text = footer % {
            "subject": masked,
            "date": issued_at.isoformat(),
            "page": canvas.getPageNumber(),
        }
        canvas.drawString(MARGIN, MARGIN - 2 * mm, text)
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _styles(lang: str) -> dict[str, ParagraphStyle]:
    # Chinese text breaks between any two characters; English only at spaces.
    wrap = "CJK" if lang == "zh" else None
    base = ParagraphStyle(
        "body",
        fontName=FONT,
        fontSize=9.5,
        leading=13.5,
        textColor=INK,
        alignment=TA_LEFT,
        wordWrap=wrap,
    )
    return {
        "body": base,
        "title": ParagraphStyle("title", base, fontSize=20, leading=26, spaceAfter=2 * mm),
        "h2": ParagraphStyle(
            "h2", base, fontSize=13, leading=18, spaceBefore=5 * mm, spaceAfter=2 * mm
        ),
        "h3": ParagraphStyle("h3", base, fontSize=10.5, leading=14.5, spaceBefore=2 * mm),
        "cell": ParagraphStyle("cell", base, fontSize=8.5, leading=11.5, wordWrap="CJK"),
        "head": ParagraphStyle("head", base, fontSize=8.5, leading=11.5, wordWrap="CJK"),
        "small": ParagraphStyle("small", base, fontSize=8, leading=11, textColor=MUTED),
    }


class _Report:
    """The report's story: one method per section."""

    def __init__(
        self,
        _: Gettext,
        styles: dict[str, ParagraphStyle],
        where: str,
        catalog: Catalog,
        sources: dict[str, str],
    ) -> None:
        self._ = _
        self.styles = styles
        self.where = where
        self.catalog = catalog
        self.sources = sources
        # Labels from the catalogue and the policy are data: translated where a catalogue
        # has them, shown as written otherwise.
        self.label: Gettext = _

    # -- building blocks ----------------------------------------------------------------

    def p(self, text: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(text), self.styles[style])

    def date(self, value: Any) -> str:
        if not value:
            return ""
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
        return format_date(day, "long", locale=self.where)

    def category(self, code: str) -> str:
        found = self.catalog.category(code)
        return self.label(found.label) if found else code

    def table(self, header: list[str], rows: list[list[str]], widths: list[float]) -> Table:
        cells = [[self.p(h, "head") for h in header]]
        cells += [[self.p(c, "cell") for c in row] for row in rows]
        table = Table(cells, colWidths=[w * WIDTH for w in widths], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), BAND),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 3),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        return table

    def facts(self, rows: list[tuple[str, str]]) -> Table:
        cells = [[self.p(k, "head"), self.p(v, "cell")] for k, v in rows]
        table = Table(cells, colWidths=[0.26 * WIDTH, 0.74 * WIDTH])
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (0, -1), BAND),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return table

    def section(self, title: str, body: list[Flowable]) -> list[Flowable]:
        return [self.p(title, "h2"), *body]

    # -- the sections ------------------------------------------------------------------

    def story(
        self,
        data: dict[str, Any],
        masked: str,
        issuer: str,
        issued_at: dt.datetime,
        key_id: str,
    ) -> list[Flowable]:
        _ = self._
        state = data.get("state") or {}
        evaluation = state.get("evaluation") or {}
        kinds = {
            "person": _("Natural person"),
            "organisation": _("Organisation"),
            "agency": _("Government agency"),
        }
        facts = [
            (_("Subject"), masked),
            (_("Kind"), kinds.get(data.get("kind") or "", data.get("kind") or "")),
            (_("Issued by"), issuer),
            (
                _("Issued at"),
                format_datetime(issued_at, "medium", tzinfo=issued_at.tzinfo, locale=self.where),
            ),
        ]
        if data.get("region"):
            facts.insert(2, (_("Region"), str(data["region"])))
        if evaluation:
            facts.append(
                (
                    _("Credit state as of"),
                    _("%(date)s, under policy %(policy)s")
                    % {
                        "date": self.date(evaluation.get("as_of")),
                        "policy": evaluation.get("policy", ""),
                    },
                )
            )
        story: list[Flowable] = [
            self.p(_("Credit report"), "title"),
            self.p(
                _(
                    "What the credit system of this deployment holds about the subject below, "
                    "at the time of issue. The subject's identifier is masked: compare it with "
                    "the identity document the subject shows you."
                ),
                "small",
            ),
            Spacer(1, 3 * mm),
            self.facts(facts),
        ]
        if "not_evaluated" in state:
            story += self.section(
                _("Credit state"),
                [
                    self.p(
                        _(
                            "The credit state has not been evaluated yet: this report shows "
                            "the records only."
                        )
                    )
                ],
            )
        else:
            story += self.lists(state.get("lists") or [])
            story += self.scores(state.get("scores") or [])
            story += self.measures(state.get("measures") or [], state.get("lists") or [])
        story += self.records(data.get("current_records") or [], data.get("objections") or [])
        story += self.objections(data.get("objections") or [])
        story += self.verification(issuer, issued_at, key_id)
        return story

    def lists(self, lists: list[dict[str, Any]]) -> list[Flowable]:
        _ = self._
        kinds = {"black": _("Black list"), "red": _("Red list")}
        active = [x for x in lists if x.get("status") == "active"]
        if not active:
            return self.section(_("Lists in force"), [self.p(_("The subject is on no list."))])
        rows = [
            [
                self.label(x.get("label") or x["list"])
                + (f" [{_('disputed')}]" if _disputed(x) else ""),
                kinds.get(x.get("kind", ""), x.get("kind", "")),
                self.date(x.get("entered_on")),
                self.date(x.get("ends_on")) or _("until removed"),
                x.get("legal_basis") or "",
            ]
            for x in active
        ]
        header = [_("List"), _("Kind"), _("Since"), _("Until"), _("Legal basis")]
        return self.section(
            _("Lists in force"), [self.table(header, rows, [0.24, 0.1, 0.14, 0.14, 0.38])]
        )

    def scores(self, scores: list[dict[str, Any]]) -> list[Flowable]:
        _ = self._
        if not scores:
            return self.section(
                _("Score and grade"), [self.p(_("No score applies to the subject."))]
            )
        rows = [
            [
                self.label(s.get("label") or s["score"]),
                str(s.get("points", "")),
                " ".join(filter(None, [s.get("grade"), self.label(s.get("grade_label") or "")])),
                self.date(s.get("valid_until")) or "",
                s.get("legal_basis") or "",
            ]
            for s in scores
        ]
        header = [_("Score"), _("Points"), _("Grade"), _("Valid until"), _("Legal basis")]
        return self.section(
            _("Score and grade"), [self.table(header, rows, [0.22, 0.1, 0.14, 0.14, 0.4])]
        )

    def measures(
        self, measures: list[dict[str, Any]], lists: list[dict[str, Any]]
    ) -> list[Flowable]:
        _ = self._
        if not measures:
            return self.section(
                _("Measures in force"), [self.p(_("No measure applies to the subject."))]
            )
        kinds = {"restrict": _("Restriction"), "reward": _("Reward")}
        list_labels = {x["list"]: x.get("label") or x["list"] for x in lists}
        # One measure can follow from several lists: show it once, with every reason.
        grouped: dict[str, dict[str, Any]] = {}
        reasons: dict[str, list[str]] = {}
        for m in measures:
            grouped.setdefault(m["measure"], m)
            reason = self.reason(m, list_labels)
            if m.get("disputed"):  # the cause awaits a decision on the subject's objection
                reason += f" [{_('disputed')}]"
            if reason not in reasons.setdefault(m["measure"], []):
                reasons[m["measure"]].append(reason)
        blocks: list[Flowable] = []
        for measure_id, m in grouped.items():
            kind = kinds.get(m.get("kind", ""), m.get("kind", ""))
            title = f"{self.label(m.get('label') or measure_id)} ({kind})"
            rows = [
                (_("Because of"), "; ".join(reasons[measure_id])),
                (_("In force until"), self.date(m.get("valid_until")) or _("until its cause ends")),
                (_("Legal basis"), m.get("legal_basis") or ""),
                (_("How it ends"), self.label(m.get("remedy") or "")),
            ]
            blocks.append(
                KeepTogether([self.p(title, "h3"), self.facts([r for r in rows if r[1]])])
            )
        return self.section(_("Measures in force"), blocks)

    def reason(self, measure: dict[str, Any], list_labels: dict[str, str]) -> str:
        _ = self._
        trigger = measure.get("trigger") or {}
        if trigger.get("kind") == "list":
            text = _("on the list: %(list)s") % {
                "list": self.label(list_labels.get(trigger.get("id", ""), trigger.get("id", "")))
            }
        else:
            text = f"{trigger.get('kind', '')}: {trigger.get('id', '')}"
        via = measure.get("via")
        if via:
            text += " " + _("(through organisation %(subject)s, as %(role)s)") % {
                "subject": mask(str(via.get("identifier", ""))),
                "role": via.get("role", ""),
            }
        return text

    def records(
        self, records: list[dict[str, Any]], objections: list[dict[str, Any]]
    ) -> list[Flowable]:
        _ = self._
        if not records:
            return self.section(_("Records"), [self.p(_("No record is held about the subject."))])
        disputed = {
            (o.get("source"), o.get("record")) for o in objections if o.get("status") == "open"
        }
        rows = []
        for r in sorted(
            records, key=lambda r: (str(r.get("occurred_on")), r.get("event_id", 0)), reverse=True
        ):
            rows.append(
                [
                    self.category(r["category"]),
                    self.date(r.get("occurred_on")),
                    self.label(self.sources.get(r["source_id"], r["source_id"])),
                    r.get("document") or "",
                    _("disputed") if (r["source_id"], r["source_record_id"]) in disputed else "",
                ]
            )
        header = [_("Record"), _("Date"), _("Source"), _("Document"), _("Objection")]
        return self.section(
            _("Records"),
            [
                self.p(
                    _(
                        "Every record in force, newest first. A disputed record awaits the "
                        "source's decision on the subject's objection."
                    ),
                    "small",
                ),
                self.table(header, rows, [0.34, 0.15, 0.2, 0.19, 0.12]),
            ],
        )

    def objections(self, objections: list[dict[str, Any]]) -> list[Flowable]:
        _ = self._
        open_ = [o for o in objections if o.get("status") == "open"]
        if not open_:
            return self.section(
                _("Open objections"), [self.p(_("The subject has no open objection."))]
            )
        rows = [
            [
                o.get("objection", ""),
                self.category(o.get("category", "")) + f" ({o.get('record', '')})",
                self.date(o.get("filed_on")),
                self.date(o.get("due_on")),
                o.get("reason") or "",
            ]
            for o in open_
        ]
        header = [_("Objection"), _("Record"), _("Filed on"), _("Decision due"), _("Reason")]
        return self.section(
            _("Open objections"), [self.table(header, rows, [0.14, 0.16, 0.15, 0.15, 0.4])]
        )

    def verification(self, issuer: str, issued_at: dt.datetime, key_id: str) -> list[Flowable]:
        _ = self._
        base = issuer.rstrip("/")
        return self.section(
            _("How to verify this report"),
            [
                self.p(
                    _(
                        "This file is signed by the deployment that issued it. To check that it was "
                        "issued there and is unchanged, upload it at %(page)s, or run "
                        '"xinyong report verify FILE --key KEY" with the public key published at '
                        "%(key)s."
                    )
                    % {"page": f"{base}/report/verify", "key": f"{base}/report/key"}
                ),
                Spacer(1, 1.5 * mm),
                self.facts(
                    [
                        (_("Signing key"), key_id),
                        (_("Signed at"), issued_at.isoformat()),
                    ]
                ),
                Spacer(1, 1.5 * mm),
                self.p(
                    _(
                        "Any change to the file, even of one byte, makes verification fail. A "
                        "printed copy or a screenshot cannot be verified: ask for the file."
                    ),
                    "small",
                ),
            ],
        )


def _disputed(entry: dict[str, Any]) -> bool:
    """A list entry one of whose records awaits a decision on the subject's objection."""
    return any(r.get("disputed") for r in entry.get("records") or [])
