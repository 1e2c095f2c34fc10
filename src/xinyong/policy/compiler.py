"""Compile a policy into one engine-neutral plan: SQL stages in DuckDB's dialect.

Every rule is written once, here, as SQL generated from the policy data. Engines run the
plan as it is (DuckDB) or transpiled by sqlglot (PostgreSQL, Spark); none has a hand-written
twin of any rule. The plan reads two input relations that each engine provides:

- ``in_records``: the current records (event_id, subject_key, category, occurred_on,
  amount, document, details as JSON text), already limited to the subjects in scope;
- ``in_subjects``: subject_key, kind, birth_date of the subjects in scope.

and produces the ``out_*`` relations that ``OUTPUTS`` lists, which evaluation stores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xinyong.catalog.model import CONSENT_CATEGORY, Catalog, DetailField
from xinyong.policy.check import require_valid
from xinyong.policy.model import (
    SUBJECT_ROLE,
    Condition,
    Feature,
    ListRule,
    Match,
    Measure,
    Points,
    Policy,
    Prior,
    Score,
    ScoreRule,
)
from xinyong.sql import identifier, literal, literal_list

# Output relation -> its columns, in order (the stored tables add run_id in front).
OUTPUTS: dict[str, tuple[str, ...]] = {
    "out_list_entries": (
        "list_id",
        "entry_id",
        "subject_key",
        "entered_on",
        "ends_on",
        "end_reason",
        "exit_event_id",
        "status",
        "refused_by",
    ),
    "out_list_evidence": ("entry_id", "list_id", "subject_key", "event_id", "role"),
    "out_record_flags": ("event_id", "subject_key", "list_id", "never_id"),
    "out_score_items": (
        "score_id",
        "rule_id",
        "subject_key",
        "event_id",
        "points",
        "counts_until",
    ),
    # A scorecard's features: the figure read from the subject's records, its bin's points,
    # and the first day the figure can change (a record leaves the window, a month passes).
    "out_score_features": (
        "score_id",
        "feature_id",
        "subject_key",
        "value",
        "points",
        "changes_on",
    ),
    "out_scores": ("score_id", "subject_key", "points", "grade", "valid_until"),
    "out_links": ("org_key", "person_key", "role", "event_id"),
    "out_measures": (
        "measure_id",
        "subject_key",
        "trigger_kind",
        "trigger_id",
        "trigger_ref",
        "via_subject_key",
        "role",
        "valid_until",
    ),
}


@dataclass(frozen=True)
class Stage:
    name: str
    sql: str  # a SELECT in DuckDB's dialect


@dataclass
class Plan:
    as_of: dt.date
    stages: list[Stage] = field(default_factory=list)
    role_fields: tuple[str, ...] = ()

    def add(self, name: str, sql: str) -> None:
        self.stages.append(Stage(name, sql))


# Policy values are data, never trusted as SQL: every constant goes through one helper.
lit = literal


def col(field_name: str) -> str:
    """The fact column holding a detail field."""
    return "d_" + identifier(field_name)


def in_list(values: Sequence[object]) -> str:
    return literal_list(values)


def months_after(date_sql: str, months_sql: str) -> str:
    return f"CAST({date_sql} + ({months_sql}) * INTERVAL 1 MONTH AS DATE)"


class Compiler:
    def __init__(
        self,
        policy: Policy,
        catalog: Catalog,
        as_of: dt.date,
        consent_on: dt.date | None = None,
    ) -> None:
        self.policy = policy
        self.catalog = catalog
        self.as_of = as_of
        # Consent is read as given by this day: the evaluation date, except when a model is
        # trained on the history of subjects who consent now.
        self.consent_on = consent_on or as_of
        self.plan = Plan(as_of)
        self.fields: dict[str, DetailField] = {}
        self.field_categories: dict[str, set[str]] = {}  # a field is read only where used
        self.categories: set[str] = set()

    # -- the whole plan -------------------------------------------------------------------

    def compile(self) -> Plan:
        self._collect()
        self.plan.add("ev_facts", self._facts())
        self.plan.add("out_links", self._links())
        entries, evidence = [], []
        for list_rule in self.policy.lists.values():
            name = f"ev_list_{identifier(list_rule.id)}"
            if list_rule.declared is not None:
                self.plan.add(name, self._declared(list_rule))
                entries.append(self._declared_entries(list_rule, name))
                evidence.append(self._declared_evidence(name))
            else:
                entries.append(self._computed(list_rule, name))
                evidence.append(self._computed_evidence(list_rule, name))
        self.plan.add("out_list_entries", _union(entries, OUTPUTS["out_list_entries"]))
        self.plan.add("out_list_evidence", _union(evidence, OUTPUTS["out_list_evidence"]))
        self.plan.add("out_record_flags", self._flags())
        ends = self._ends()
        if ends:
            self.plan.add("ev_ends", ends)
        self.plan.add("out_score_items", self._score_items())
        for purpose in sorted({s.consent for s in self.policy.scores.values() if s.consent}):
            self.plan.add(f"ev_consent_{identifier(purpose)}", self._consenting(purpose))
        cards = [s for s in self.policy.scores.values() if s.features]
        for score in cards:
            self.plan.add(f"ev_card_{identifier(score.id)}", self._card(score))
        features = [self._stored_features(s) for s in cards]
        self.plan.add("out_score_features", _union(features, OUTPUTS["out_score_features"]))
        scores = [self._scores(s) for s in self.policy.scores.values()]
        self.plan.add("out_scores", _union(scores, OUTPUTS["out_scores"]))
        measures = [m for m in (self._measure(x) for x in self.policy.measures.values()) if m]
        self.plan.add("out_measures", _union(measures, OUTPUTS["out_measures"]))
        return self.plan

    def _collect(self) -> None:
        """The categories and detail fields the policy reads, so that facts carry only them."""
        conditions: list[tuple[str, dict[str, Match]]] = []
        for rule in self.policy.lists.values():
            if rule.declared is not None:
                d = rule.declared
                self.categories.update([d.entry, *d.exits])
                for never in rule.never:
                    conditions.append((d.entry, never.where))
                    if never.after is not None:
                        self.categories.add(never.after.category)
                        conditions.append((never.after.category, never.after.where))
                if d.grace_from:
                    self._field(d.entry, d.grace_from)
                if d.term is not None:
                    conditions.append((d.entry, d.term.open_ended_when))
                    for name in (d.term.from_detail, d.term.extension_from):
                        if name:
                            self._field(d.entry, name)
            else:
                assert rule.computed is not None
                for c in rule.computed.conditions:
                    self.categories.add(c.category)
                    conditions.append((c.category, c.where))
        for score in self.policy.scores.values():
            for r in score.rules:
                self.categories.add(r.category)
                self.categories.update(r.ended_by)
                conditions.append((r.category, r.where))
                if isinstance(r.points, Points):
                    self._field(r.category, r.points.by)
                by = self._publicity_field(r.category)
                if by:
                    self._field(r.category, by)
            if score.consent and self.consent_on == self.as_of:
                self.categories.add(CONSENT)
                self._field(CONSENT, "purpose")
            for feature in score.features:
                self.categories.add(feature.category)
                self.categories.update(feature.ended_by)
                conditions.append((feature.category, feature.where))
                if feature.of:
                    self._field(feature.category, feature.of)
        for category, where in conditions:
            for name in where:
                self._field(category, name)
        roles = {r for m in self.policy.measures.values() for r in m.applies_to}
        roles.discard(SUBJECT_ROLE)
        self.plan.role_fields = tuple(sorted(roles))
        if roles:
            self.categories.add(REGISTRATION)
            for role in roles:
                self._field(REGISTRATION, role)

    def _field(self, category: str, name: str) -> None:
        self.field_categories.setdefault(name, set()).add(category)
        cat = self.catalog.category(category)
        found = cat.details.get(name) if cat else None
        if found is not None and name not in self.fields:
            self.fields[name] = found
        elif name not in self.fields:
            self.fields[name] = DetailField(type="string")

    def _publicity_field(self, category: str) -> str | None:
        cat = self.catalog.category(category)
        if cat and cat.publicity.period_by:
            return cat.publicity.period_by.field
        return None

    # -- facts: current records with the details the policy reads, typed -----------------

    def _facts(self) -> str:
        details = []
        for name, spec in sorted(self.fields.items()):
            # Parse the JSON only for the categories whose rules read the field: most
            # records carry one or two of the dozen fields a policy reads.
            cats = sorted(self.field_categories.get(name, ()))
            text = (
                f"CASE WHEN r.category IN {in_list(cats)} THEN "
                f"json_extract_string(r.details, {lit('$.' + name)}) END"
            )
            sql_type = {
                "integer": "BIGINT",
                "number": "DOUBLE",
                "boolean": "BOOLEAN",
                "date": "DATE",
            }.get(spec.type)
            details.append(f"CAST({text} AS {sql_type})" if sql_type else text)
            details[-1] += f" AS {col(name)}"
        extra = "".join(f",\n       {d}" for d in details)
        return (
            "SELECT r.event_id, r.subject_key, s.kind AS subject_kind, s.birth_date,"
            " r.category, r.occurred_on, r.document" + extra + "\n"
            "FROM in_records r JOIN in_subjects s ON s.subject_key = r.subject_key\n"
            f"WHERE r.occurred_on <= {lit(self.as_of)}"
            f" AND r.category IN {in_list(sorted(self.categories))}"
        )

    # -- conditions -----------------------------------------------------------------------

    def _where(self, where: dict[str, Match], alias: str = "f") -> str:
        parts = []
        for name, match in where.items():
            column = f"{alias}.{col(name)}"
            numeric = self.fields.get(name, DetailField(type="string")).type in (
                "integer",
                "number",
            )
            if match.values is not None:
                values = [_coerce(v, numeric) for v in match.values]
                parts.append(f"{column} IN {in_list(values)}")
            if match.min is not None:
                parts.append(f"{column} >= {lit(match.min)}")
            if match.max is not None:
                parts.append(f"{column} <= {lit(match.max)}")
        return " AND ".join(parts) if parts else "TRUE"

    def _kinds(self, kinds: Sequence[str], alias: str = "f") -> str:
        return f"{alias}.subject_kind IN {in_list(kinds)}"

    # -- declared lists -------------------------------------------------------------------

    def _declared(self, rule: ListRule) -> str:
        d = rule.declared
        assert d is not None
        term = "CAST(NULL AS DATE)"
        if d.term is not None:
            months = lit(d.term.default_months) if d.term.default_months else "NULL"
            if d.term.from_detail:
                months = f"COALESCE(NULLIF(f.{col(d.term.from_detail)}, 0), {months})"
            if d.term.extension_from:
                months = f"{months} + COALESCE(f.{col(d.term.extension_from)}, 0)"
            term = months_after("f.occurred_on", months)
            if d.term.open_ended_when:
                term = (
                    f"CASE WHEN {self._where(d.term.open_ended_when)} "
                    f"THEN CAST(NULL AS DATE) ELSE {term} END"
                )
        refusals = []
        priors = []
        for index, never in enumerate(rule.never):
            test = [self._where(never.where)] if never.where else []
            if never.after is not None:
                alias = f"pr{index}"
                priors.append(self._prior(d.entry, never.after, alias))
                test.append(f"{alias}.entry_event IS NOT NULL")
            if never.age_below is not None:
                test.append(
                    "f.subject_kind = 'person' AND f.birth_date IS NOT NULL AND "
                    f"{months_after('f.birth_date', lit(12 * never.age_below))} > f.occurred_on"
                )
            refusals.append(f"WHEN {' AND '.join(test)} THEN {lit(never.id)}")
        refused = (
            "CASE " + " ".join(refusals) + " ELSE CAST(NULL AS VARCHAR) END"
            if refusals
            else "CAST(NULL AS VARCHAR)"
        )
        same_case = " AND x.document = e.document" if "document" in d.match else ""
        entered = (
            months_after("f.occurred_on", f"COALESCE(f.{col(d.grace_from)}, 0)")
            if d.grace_from
            else "f.occurred_on"
        )
        exits = in_list(d.exits) if d.exits else "(NULL)"
        return f"""
WITH entries AS (
    SELECT f.event_id AS entry_event, f.subject_key, f.occurred_on AS listed_on,
           {entered} AS entered_on, f.document,
           {term} AS term_ends,
           {refused} AS refused_by
    FROM ev_facts f{"".join(priors)}
    WHERE f.category = {lit(d.entry)} AND {self._kinds(rule.subject_kinds)}
), exits AS (
    SELECT e.entry_event, x.event_id AS exit_event, x.occurred_on AS exited_on,
           row_number() OVER (PARTITION BY e.entry_event
                              ORDER BY x.occurred_on, x.event_id) AS rn
    FROM entries e JOIN ev_facts x
      ON x.subject_key = e.subject_key AND x.category IN {exits}
     AND x.occurred_on >= e.listed_on{same_case}
)
SELECT e.subject_key, e.entry_event, e.entered_on, e.term_ends, e.refused_by,
       x.exit_event, x.exited_on
FROM entries e LEFT JOIN exits x ON x.entry_event = e.entry_event AND x.rn = 1"""

    def _prior(self, entry: str, prior: Prior, alias: str) -> str:
        """LEFT JOIN of the entries that have such a prior record (one row per entry)."""
        same = " AND p.document = e.document" if prior.same_document else ""
        where = self._where(prior.where, "p") if prior.where else "TRUE"
        start = months_after("e.occurred_on", lit(-prior.within_months))
        return f"""
    LEFT JOIN (
        SELECT e.event_id AS entry_event FROM ev_facts e JOIN ev_facts p
          ON p.subject_key = e.subject_key AND p.category = {lit(prior.category)}{same}
         AND p.occurred_on <= e.occurred_on AND p.occurred_on > {start} AND {where}
        WHERE e.category = {lit(entry)} GROUP BY e.event_id
    ) {alias} ON {alias}.entry_event = f.event_id"""

    def _declared_entries(self, rule: ListRule, name: str) -> str:
        ends = "LEAST(l.term_ends, l.exited_on)"
        return f"""
SELECT {lit(rule.id)} AS list_id, {lit(rule.id + ":")} || CAST(l.entry_event AS VARCHAR) AS entry_id,
       l.subject_key, l.entered_on, {ends} AS ends_on,
       CASE WHEN l.exited_on IS NOT NULL AND (l.term_ends IS NULL OR l.exited_on <= l.term_ends)
            THEN 'exit' WHEN l.term_ends IS NOT NULL THEN 'term' END AS end_reason,
       CASE WHEN l.exited_on IS NOT NULL AND (l.term_ends IS NULL OR l.exited_on <= l.term_ends)
            THEN l.exit_event END AS exit_event_id,
       CASE WHEN l.refused_by IS NOT NULL THEN 'refused'
            WHEN {ends} IS NOT NULL AND {ends} <= {lit(self.as_of)} THEN 'ended'
            WHEN l.entered_on > {lit(self.as_of)} THEN 'pending'
            ELSE 'active' END AS status,
       l.refused_by
FROM {name} l"""

    def _declared_evidence(self, name: str) -> str:
        list_id = name.removeprefix("ev_list_")
        entry_id = f"{lit(list_id + ':')} || CAST(l.entry_event AS VARCHAR)"
        return f"""
SELECT {entry_id} AS entry_id, {lit(list_id)} AS list_id, l.subject_key,
       l.entry_event AS event_id, 'entry' AS role
FROM {name} l
UNION ALL
SELECT {entry_id}, {lit(list_id)}, l.subject_key, l.exit_event, 'exit'
FROM {name} l WHERE l.exit_event IS NOT NULL"""

    # -- computed lists -------------------------------------------------------------------

    def _condition(self, rule: ListRule, index: int, c: Condition) -> str:
        """Stage: the records that meet one condition, newest first per subject."""
        name = f"ev_cond_{identifier(rule.id)}_{index}"
        source = "ev_facts"
        if c.latest:
            source = f"""(
    SELECT * FROM (
        SELECT f.*, row_number() OVER (PARTITION BY f.subject_key
                                       ORDER BY f.occurred_on DESC, f.event_id DESC) AS latest_rn
        FROM ev_facts f WHERE f.category = {lit(c.category)}
    ) z WHERE z.latest_rn = 1
)"""
        window = ""
        if c.within_months:
            start = months_after(lit(self.as_of), lit(-c.within_months))
            window = f" AND f.occurred_on > {start}"
        self.plan.add(
            name,
            f"""
SELECT f.subject_key, f.event_id, f.occurred_on,
       row_number() OVER (PARTITION BY f.subject_key
                          ORDER BY f.occurred_on DESC, f.event_id DESC) AS rn
FROM {source} f
WHERE f.category = {lit(c.category)} AND {self._kinds(rule.subject_kinds)}
  AND {self._where(c.where)}{window}""",
        )
        until = (
            months_after(
                f"max(CASE WHEN m.rn = {c.at_least} THEN m.occurred_on END)", lit(c.within_months)
            )
            if c.within_months
            else "CAST(NULL AS DATE)"
        )
        self.plan.add(
            f"{name}_met",
            f"""
SELECT m.subject_key, min(m.occurred_on) AS entered_on, {until} AS ends_on
FROM {name} m GROUP BY m.subject_key HAVING count(*) >= {c.at_least}""",
        )
        return name

    def _computed(self, rule: ListRule, name: str) -> str:
        assert rule.computed is not None
        conds = [self._condition(rule, i, c) for i, c in enumerate(rule.computed.conditions)]
        if rule.computed.all:
            first = conds[0]
            joins = "".join(
                f" JOIN {c}_met c{i} ON c{i}.subject_key = c0.subject_key"
                for i, c in enumerate(conds)
                if i
            )
            entered = _fold("GREATEST", [f"c{i}.entered_on" for i in range(len(conds))])
            ends = _fold("LEAST", [f"c{i}.ends_on" for i in range(len(conds))])
            body = (
                f"SELECT c0.subject_key, {entered} AS entered_on, {ends} AS ends_on "
                f"FROM {first}_met c0{joins}"
            )
        else:
            unions = " UNION ALL ".join(
                f"SELECT subject_key, entered_on, ends_on FROM {c}_met" for c in conds
            )
            # Open-ended (NULL) wins over any date: the membership lasts while any holds.
            body = (
                "SELECT u.subject_key, min(u.entered_on) AS entered_on,"
                " CASE WHEN count(*) > count(u.ends_on) THEN CAST(NULL AS DATE)"
                " ELSE max(u.ends_on) END AS ends_on"
                f" FROM ({unions}) u GROUP BY u.subject_key"
            )
        self.plan.add(name, body)
        return f"""
SELECT {lit(rule.id)} AS list_id, {lit(rule.id + ":")} || l.subject_key AS entry_id,
       l.subject_key, l.entered_on, l.ends_on,
       CASE WHEN l.ends_on IS NOT NULL THEN 'term' END AS end_reason,
       CAST(NULL AS BIGINT) AS exit_event_id, 'active' AS status,
       CAST(NULL AS VARCHAR) AS refused_by
FROM {name} l"""

    def _computed_evidence(self, rule: ListRule, name: str) -> str:
        assert rule.computed is not None
        parts = []
        for i, _c in enumerate(rule.computed.conditions):
            cond = f"ev_cond_{rule.id}_{i}"
            parts.append(f"""
SELECT DISTINCT {lit(rule.id + ":")} || m.subject_key AS entry_id, {lit(rule.id)} AS list_id,
       m.subject_key, m.event_id, 'condition' AS role
FROM {cond} m JOIN {cond}_met k ON k.subject_key = m.subject_key
JOIN {name} l ON l.subject_key = m.subject_key""")
        return " UNION ALL ".join(parts)

    def _flags(self) -> str:
        parts = [
            f"SELECT l.entry_event AS event_id, l.subject_key, {lit(r.id)} AS list_id,"
            f" l.refused_by AS never_id FROM ev_list_{r.id} l WHERE l.refused_by IS NOT NULL"
            for r in self.policy.lists.values()
            if r.declared is not None and r.never
        ]
        return _union(parts, OUTPUTS["out_record_flags"])

    # -- links by legally defined roles ---------------------------------------------------

    def _links(self) -> str:
        roles = self.plan.role_fields
        if not roles:
            return _union([], OUTPUTS["out_links"])
        latest = f"""(
    SELECT f.*, row_number() OVER (PARTITION BY f.subject_key
                                   ORDER BY f.occurred_on DESC, f.event_id DESC) AS rn
    FROM ev_facts f WHERE f.category = {lit(REGISTRATION)}
)"""
        parts = [
            f"SELECT g.subject_key AS org_key, g.{col(r)} AS person_key, {lit(r)} AS role,"
            f" g.event_id FROM {latest} g WHERE g.rn = 1 AND g.{col(r)} IS NOT NULL"
            for r in roles
        ]
        return " UNION ALL ".join(parts)

    # -- scores ---------------------------------------------------------------------------

    def _points(self, points: int | Points) -> str:
        if isinstance(points, int):
            return lit(points)
        column = f"f.{col(points.by)}"
        whens = [
            f"WHEN {column} = {lit(_coerce(k, self._numeric(points.by)))} THEN {lit(v)}"
            for k, v in points.values.items()
        ]
        for band in points.bands:
            whens.append(f"WHEN {_within(column, band.min, band.max)} THEN {lit(band.points)}")
        return f"CASE {' '.join(whens)} ELSE {lit(points.otherwise)} END"

    def _numeric(self, name: str) -> bool:
        return self.fields.get(name, DetailField(type="string")).type in ("integer", "number")

    def _counts_for(self, category: str, override: int | None) -> str:
        if override is not None:
            return lit(override)
        cat = self.catalog.category(category)
        if cat is None:
            return "0"
        by = cat.publicity.period_by
        if by is None:
            return lit(cat.publicity.period_months)
        whens = " ".join(
            f"WHEN f.{col(by.field)} = {lit(k)} THEN {lit(v)}" for k, v in by.months.items()
        )
        return f"CASE {whens} ELSE {lit(cat.publicity.period_months)} END"

    def _adult(self, score: Score, alias: str) -> str:
        if not score.adults_only:
            return "TRUE"
        return (
            f"({alias}.birth_date IS NULL OR "
            f"{months_after(alias + '.birth_date', '216')} <= {lit(self.as_of)})"
        )

    def _score_items(self) -> str:
        """Every score's contributions in one pass: each record meets only the rules of its
        category (a join on category), then one CASE per column picks the rule's terms."""
        rules = [(score, r) for score in self.policy.scores.values() for r in score.rules]
        if not rules:
            return _union([], OUTPUTS["out_score_items"])
        keys = ", ".join(
            f"({lit(score.id)}, {lit(r.id)}, {lit(score.id + '/' + r.id)}, {lit(r.category)})"
            for score, r in rules
        )

        def by_rule(term: Callable[[Score, ScoreRule], str]) -> str:
            whens = " ".join(
                f"WHEN {lit(sc.id + '/' + r.id)} THEN {term(sc, r)}" for sc, r in rules
            )
            return f"CASE k.rule_key {whens} END"

        applies = by_rule(
            lambda sc, r: (
                f"({self._kinds(sc.subject_kinds)} AND {self._where(r.where)}"
                f" AND {self._adult(sc, 'f')})"
            )
        )
        points = by_rule(lambda _sc, r: self._points(r.points))
        enders = self._enders()

        def counts_until(r: ScoreRule) -> str:
            until = months_after("f.occurred_on", self._counts_for(r.category, r.counts_for_months))
            for category in r.ended_by:
                # The record of the same case that ends the points does so from its date.
                end = f"e.end_{enders.index(category)}"
                until = (
                    f"CASE WHEN {end} IS NOT NULL AND {end} < {until} THEN {end} ELSE {until} END"
                )
            return until

        until = by_rule(lambda _sc, r: counts_until(r))
        ended = (
            " LEFT JOIN ev_ends e ON e.subject_key = f.subject_key AND e.document = f.document"
            if enders
            else ""
        )
        return f"""
SELECT i.score_id, i.rule_id, i.subject_key, i.event_id, i.points, i.counts_until FROM (
    SELECT k.score_id, k.rule_id, f.subject_key, f.event_id, {applies} AS applies,
           {points} AS points, {until} AS counts_until
    FROM ev_facts f
    JOIN (VALUES {keys}) AS k(score_id, rule_id, rule_key, category) ON k.category = f.category{ended}
    WHERE NOT EXISTS (SELECT 1 FROM out_record_flags x WHERE x.event_id = f.event_id)
) i WHERE i.applies AND i.counts_until > {lit(self.as_of)} AND i.points <> 0"""

    def _enders(self) -> list[str]:
        return sorted(
            {c for s in self.policy.scores.values() for r in s.rules for c in r.ended_by}
            | {c for s in self.policy.scores.values() for x in s.features for c in x.ended_by}
        )

    # -- scorecards: features binned into points ------------------------------------------

    def _consenting(self, purpose: str) -> str:
        """Stage: the subjects whose consent to ``purpose`` is in force, read once. From the
        facts, or, when a card is trained on the history of those who consent now, from the
        records up to that later day."""
        if self.consent_on == self.as_of:
            return (
                "SELECT DISTINCT f.subject_key FROM ev_facts f"
                f" WHERE f.category = {lit(CONSENT)} AND f.{col('purpose')} = {lit(purpose)}"
            )
        return (
            f"SELECT DISTINCT c.subject_key FROM in_records c WHERE c.category = {lit(CONSENT)}"
            f" AND json_extract_string(c.details, '$.purpose') = {lit(purpose)}"
            f" AND c.occurred_on <= {lit(self.consent_on)}"
        )

    def _scope(self, score: Score, alias: str) -> str:
        """Who gets the score: its kinds, adults where it says so, and consent where needed."""
        test = f"{alias}.kind IN {in_list(score.subject_kinds)} AND {self._adult(score, alias)}"
        if score.consent:
            test += (
                f" AND {alias}.subject_key IN"
                f" (SELECT subject_key FROM ev_consent_{identifier(score.consent)})"
            )
        return test

    def _feature_test(self, feature: Feature, enders: list[str]) -> str:
        """Whether a fact counts for the feature: its category and details, its window, and
        no record of the same case that ended it by the evaluation date."""
        tests = [f"f.category = {lit(feature.category)}"]
        if feature.where:
            tests.append(self._where(feature.where))
        if feature.within_months:
            start = months_after(lit(self.as_of), lit(-feature.within_months))
            tests.append(f"f.occurred_on > {start}")
        for category in feature.ended_by:
            end = f"e.end_{enders.index(category)}"
            tests.append(f"({end} IS NULL OR {end} > {lit(self.as_of)})")
        return " AND ".join(tests)

    def _bin_points(self, feature: Feature, value: str) -> str:
        whens = []
        for b in feature.bins:
            if b.missing:
                whens.append(f"WHEN {value} IS NULL THEN {lit(b.points)}")
                continue
            test = f"{value} IS NOT NULL AND {_within(value, b.min, b.max)}"
            whens.append(f"WHEN {test} THEN {lit(b.points)}")
        return f"CASE {' '.join(whens)} ELSE 0 END"

    def _card(self, score: Score) -> str:
        """Stage: one row per subject in the score's scope with every feature's figure
        (``v<i>``), its points (``p<i>``) and the first day it can change (``c<i>``), from one
        pass over the facts grouped by subject."""
        enders = self._enders()
        day = lit(self.as_of)
        sums, figures, points = [], [], []
        for i, feature in enumerate(score.features):
            test = self._feature_test(feature, enders)
            if feature.aggregate == "count":
                sums.append(f"count(CASE WHEN {test} THEN 1 END) AS n{i}")
            elif feature.aggregate == "max":
                assert feature.of is not None
                sums.append(f"max(CASE WHEN {test} THEN f.{col(feature.of)} END) AS n{i}")
            if feature.aggregate == "months_since":
                sums.append(f"max(CASE WHEN {test} THEN f.occurred_on END) AS d{i}")
            else:
                sums.append(f"min(CASE WHEN {test} THEN f.occurred_on END) AS d{i}")
            if feature.aggregate == "count":
                value = f"CAST(COALESCE(a.n{i}, 0) AS DOUBLE)"
            elif feature.aggregate == "max":
                value = f"CAST(a.n{i} AS DOUBLE)"
            else:  # whole months from the latest record to the evaluation date
                latest = f"a.d{i}"
                value = (
                    f"CAST((EXTRACT(YEAR FROM {day}) - EXTRACT(YEAR FROM {latest})) * 12"
                    f" + EXTRACT(MONTH FROM {day}) - EXTRACT(MONTH FROM {latest})"
                    f" - CASE WHEN EXTRACT(DAY FROM {day}) < EXTRACT(DAY FROM {latest})"
                    " THEN 1 ELSE 0 END AS DOUBLE)"
                )
            if feature.aggregate == "months_since":
                change = months_after(f"a.d{i}", f"CAST(w.v{i} AS BIGINT) + 1")
                if feature.within_months:
                    change = _fold(
                        "LEAST", [change, months_after(f"a.d{i}", lit(feature.within_months))]
                    )
            elif feature.within_months:
                change = months_after(f"a.d{i}", lit(feature.within_months))
            else:
                change = "CAST(NULL AS DATE)"
            figures.append(f"{value} AS v{i}")
            points.append(
                f"w.v{i}, {self._bin_points(feature, f'w.v{i}')} AS p{i}, {change} AS c{i}"
            )
        ended = (
            " LEFT JOIN ev_ends e ON e.subject_key = f.subject_key AND e.document = f.document"
            if any(x.ended_by for x in score.features)
            else ""
        )
        categories = in_list(sorted({x.category for x in score.features}))
        return f"""
WITH a AS (
    SELECT f.subject_key, {", ".join(sums)}
    FROM ev_facts f{ended}
    WHERE f.category IN {categories}
      AND NOT EXISTS (SELECT 1 FROM out_record_flags x WHERE x.event_id = f.event_id)
    GROUP BY f.subject_key
), w AS (
    SELECT s.subject_key, {", ".join(figures)}
    FROM in_subjects s LEFT JOIN a ON a.subject_key = s.subject_key
    WHERE {self._scope(score, "s")}
)
SELECT w.subject_key, {", ".join(points)}
FROM w LEFT JOIN a ON a.subject_key = w.subject_key"""

    def _stored_features(self, score: Score) -> str:
        """The features worth storing: those with something on record. A feature with
        nothing (a count of 0, no record to take the max of or to date from) has the points
        of its empty bin, which the explanation reads from the policy (``Feature.empty``)."""
        name = f"ev_card_{identifier(score.id)}"
        parts = []
        for i, feature in enumerate(score.features):
            present = f"c.v{i} > 0" if feature.aggregate == "count" else f"c.v{i} IS NOT NULL"
            parts.append(
                f"SELECT {lit(score.id)} AS score_id, {lit(feature.id)} AS feature_id,"
                f" c.subject_key, c.v{i} AS value, c.p{i} AS points, c.c{i} AS changes_on"
                f" FROM {name} c WHERE {present}"
            )
        return "\nUNION ALL\n".join(parts)

    def _ends(self) -> str | None:
        """Per subject and case document, the first record of each category that ends points
        (``ended_by``): one column each, so that a score item joins one row."""
        enders = self._enders()
        if not enders:
            return None
        columns = ", ".join(
            f"min(CASE WHEN f.category = {lit(c)} THEN f.occurred_on END) AS end_{i}"
            for i, c in enumerate(enders)
        )
        return (
            f"SELECT f.subject_key, f.document, {columns} FROM ev_facts f"
            f" WHERE f.category IN {in_list(enders)} AND f.document IS NOT NULL"
            " GROUP BY f.subject_key, f.document"
        )

    def _scores(self, score: Score) -> str:
        bands = []
        for g in score.grades:
            test = []
            if g.min is not None:
                test.append(f"t.points >= {g.min}")
            if g.max is not None:
                test.append(f"t.points <= {g.max}")
            bands.append(f"WHEN {' AND '.join(test) or 'TRUE'} THEN {lit(g.grade)}")
        grade = f"CASE {' '.join(bands)} END" if bands else "CAST(NULL AS VARCHAR)"
        if score.features:
            return self._card_scores(score, grade)
        return f"""
SELECT {lit(score.id)} AS score_id, t.subject_key, t.points, {grade} AS grade, t.valid_until
FROM (
    SELECT s.subject_key, {lit(score.base)} + COALESCE(sum(i.points), 0) AS points,
           min(i.counts_until) AS valid_until
    FROM in_subjects s
    LEFT JOIN out_score_items i ON i.subject_key = s.subject_key AND i.score_id = {lit(score.id)}
    WHERE {self._scope(score, "s")}
    GROUP BY s.subject_key
) t"""

    def _card_scores(self, score: Score, grade: str) -> str:
        """A scorecard's total: the base, any rules' points, each feature's points, clipped
        to the range; valid until the first day a record stops counting or a figure changes."""
        n = len(score.features)
        total = " + ".join(
            [lit(score.base), "COALESCE(i.points, 0)", *(f"c.p{k}" for k in range(n))]
        )
        if score.range is not None:
            total = f"GREATEST({lit(score.range.min)}, LEAST({lit(score.range.max)}, {total}))"
        until = _fold("LEAST", ["i.counts_until", *(f"c.c{k}" for k in range(n))])
        return f"""
SELECT {lit(score.id)} AS score_id, t.subject_key, t.points, {grade} AS grade, t.valid_until
FROM (
    SELECT c.subject_key, CAST({total} AS BIGINT) AS points, {until} AS valid_until
    FROM ev_card_{identifier(score.id)} c
    LEFT JOIN (
        SELECT subject_key, sum(points) AS points, min(counts_until) AS counts_until
        FROM out_score_items WHERE score_id = {lit(score.id)} GROUP BY subject_key
    ) i ON i.subject_key = c.subject_key
) t"""

    # -- measures -------------------------------------------------------------------------

    def _measure(self, m: Measure) -> str | None:
        t = m.trigger
        if t.lists:
            own = f"""
SELECT e.subject_key, 'list' AS trigger_kind, e.list_id AS trigger_id,
       e.entry_id AS trigger_ref, e.ends_on AS valid_until
FROM out_list_entries e WHERE e.status = 'active' AND e.list_id IN {in_list(t.lists)}"""
        else:
            tests = []
            if t.grades:
                tests.append(f"s.grade IN {in_list(t.grades)}")
            if t.below is not None:
                tests.append(f"s.points < {t.below}")
            if t.at_least is not None:
                tests.append(f"s.points >= {t.at_least}")
            own = f"""
SELECT s.subject_key, 'score' AS trigger_kind, s.score_id AS trigger_id,
       s.grade AS trigger_ref, s.valid_until
FROM out_scores s WHERE s.score_id = {lit(t.score)} AND {" AND ".join(tests)}"""
        parts = []
        if SUBJECT_ROLE in m.applies_to:
            parts.append(
                f"SELECT {lit(m.id)} AS measure_id, o.subject_key, o.trigger_kind, o.trigger_id,"
                " o.trigger_ref, CAST(NULL AS VARCHAR) AS via_subject_key,"
                f" {lit(SUBJECT_ROLE)} AS role, o.valid_until FROM ({own}) o"
            )
        roles = [r for r in m.applies_to if r != SUBJECT_ROLE]
        if roles:
            parts.append(
                f"SELECT {lit(m.id)}, k.person_key, o.trigger_kind, o.trigger_id, o.trigger_ref,"
                " o.subject_key, k.role, o.valid_until"
                f" FROM ({own}) o JOIN out_links k ON k.org_key = o.subject_key"
                f" AND k.role IN {in_list(roles)}"
            )
        return " UNION ALL ".join(parts) if parts else None


REGISTRATION = "administrative.registration"
CONSENT = CONSENT_CATEGORY  # the subject's own record of consent, with its purpose

_NULL_TYPES = {
    "points": "BIGINT",
    "value": "DOUBLE",
    "changes_on": "DATE",
    "event_id": "BIGINT",
    "exit_event_id": "BIGINT",
    "entered_on": "DATE",
    "ends_on": "DATE",
    "counts_until": "DATE",
    "valid_until": "DATE",
}


def _union(parts: list[str], columns: tuple[str, ...]) -> str:
    """UNION ALL of parts; with none, an empty relation of the right columns and types."""
    if parts:
        return "\nUNION ALL\n".join(f"SELECT * FROM ({p}) u{i}" for i, p in enumerate(parts))
    cols = ", ".join(f"CAST(NULL AS {_NULL_TYPES.get(c, 'VARCHAR')}) AS {c}" for c in columns)
    return f"SELECT {cols} WHERE FALSE"


def _within(value: str, low: float | None, high: float | None) -> str:
    """``value`` within a band whose bounds are inclusive and either may be open."""
    test = [f"{value} >= {lit(low)}"] if low is not None else []
    test += [f"{value} <= {lit(high)}"] if high is not None else []
    return " AND ".join(test) or "TRUE"


def _fold(function: str, args: list[str]) -> str:
    """GREATEST/LEAST of one argument is that argument (Spark refuses the call)."""
    return args[0] if len(args) == 1 else f"{function}({', '.join(args)})"


def _coerce(value: object, numeric: bool) -> object:
    if numeric and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    if not numeric and not isinstance(value, str) and not isinstance(value, bool):
        return str(value)
    return value


_CHECKED: set[tuple[str, str, str]] = set()


def compile_policy(
    policy: Policy, catalog: Catalog, as_of: dt.date, consent_on: dt.date | None = None
) -> Plan:
    """The plan of ``policy`` as of a date. Every path that runs a policy comes here, so a
    policy with findings (`xinyong policy check`) never runs; the check is made once per
    policy and catalogue."""
    checked = (policy.digest, catalog.source, catalog.version)
    if checked not in _CHECKED:
        require_valid(policy, catalog)
        _CHECKED.add(checked)
    return Compiler(policy, catalog, as_of, consent_on).compile()
