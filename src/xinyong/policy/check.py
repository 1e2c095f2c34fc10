"""`policy check`: what a policy means, checked against the catalogue and the design's refusals.

Each finding names the file, line and rule. Errors stop a policy from being evaluated at
all (``evaluate`` runs these checks first), so a rule that singles out a kind of owner, a
region or a prohibited class can never reach a subject.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from xinyong.catalog.model import Catalog, Category, DetailField
from xinyong.catalog.prohibited import PROHIBITED_DATA_CLASSES, prohibited_class_of_name
from xinyong.errors import PolicyError
from xinyong.policy.loader import load_policy
from xinyong.policy.model import (
    SUBJECT_ROLE,
    Condition,
    Feature,
    ListRule,
    Match,
    Measure,
    Points,
    Policy,
    Rule,
    Score,
)

# Attributes no rule may condition on (DESIGN.md, equal treatment), beyond what the
# catalogue marks `protected` and the prohibited data classes.
FORBIDDEN_ATTRIBUTES: dict[str, str] = {
    "ownership": "ownership (state-owned or private)",
    "owner_type": "ownership (state-owned or private)",
    "state_owned": "ownership (state-owned or private)",
    "region": "region",
    "region_code": "region",
    "province": "region",
    "city": "region",
    "district": "region",
    "hukou": "region (household registration)",
    "birthplace": "region",
    "sex": "sex",
    "gender": "sex",
    "birth_date": "age (only `never` grounds and `adults_only` may protect minors)",
    "age": "age (only `never` grounds and `adults_only` may protect minors)",
    "nationality": "nationality",
}

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}: {self.message} [{self.code}]"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class Checker:
    def __init__(self, policy: Policy, catalog: Catalog) -> None:
        self.policy = policy
        self.catalog = catalog
        self.findings: list[Finding] = []
        self.roles = {
            name
            for cat in catalog.categories.values()
            if "registration" in cat.data_classes
            for name, f in cat.details.items()
            if f.type == "identifier"
        }

    def add(self, where: Rule, rule: str, code: str, message: str) -> None:
        self.findings.append(Finding(where.file, where.line, rule, code, message))

    def run(self) -> list[Finding]:
        for rule in self.policy.lists.values():
            self._list(rule.id, rule)
        for score in self.policy.scores.values():
            self._score(score)
        for measure in self.policy.measures.values():
            self._measure(measure)
        for action in self.policy.actions.values():
            for key in action.context:
                self._attribute(action, f"action {action.id}", key, None)
        return sorted(self.findings, key=lambda f: (f.file, f.line, f.code))

    # -- categories, fields and values ----------------------------------------------------

    def _category(self, where: Rule, rule: str, code: str, kinds: Sequence[str]) -> Category | None:
        cat = self.catalog.category(code)
        if cat is None:
            self.add(
                where,
                rule,
                "unknown_category",
                f"category {code!r} is not in the catalogue ({self.catalog.source}).",
            )
            return None
        if "consent" in cat.data_classes:
            self.add(
                where,
                rule,
                "consent_as_data",
                f"category {code!r} records a subject's consent: it only decides who gets a"
                " score that needs consent (`consent:`), and no rule may read it.",
            )
        if not set(kinds) & set(cat.subject_kinds):
            self.add(
                where,
                rule,
                "never_fires",
                f"category {code!r} is only recorded about {', '.join(cat.subject_kinds)},"
                f" but the rule covers {', '.join(kinds)}: it can never fire.",
            )
        return cat

    def _attribute(self, where: Rule, rule: str, name: str, field: DetailField | None) -> bool:
        """Refuse conditions on forbidden attributes; True when the name is acceptable."""
        reason = FORBIDDEN_ATTRIBUTES.get(name)
        if reason is None and field is not None and field.protected:
            reason = "a protected attribute"
        if reason is None and field is not None and field.data_class in PROHIBITED_DATA_CLASSES:
            reason = PROHIBITED_DATA_CLASSES[field.data_class]
        implied = prohibited_class_of_name(name)
        if reason is None and implied:
            reason = PROHIBITED_DATA_CLASSES[implied]
        if reason is not None:
            self.add(
                where,
                rule,
                "forbidden_attribute",
                f"the rule conditions on {name!r}, which is {reason}: no rule may treat "
                "subjects differently by it (DESIGN.md, equal treatment).",
            )
            return False
        if not _NAME.match(name):
            self.add(where, rule, "unknown_field", f"{name!r} is not a valid field name.")
            return False
        return True

    def _where(
        self, where: Rule, rule: str, cat: Category | None, conditions: dict[str, Match]
    ) -> None:
        for name, match in conditions.items():
            field = cat.details.get(name) if cat else None
            if not self._attribute(where, rule, name, field):
                continue
            if cat is None:
                continue
            if field is None:
                self.add(
                    where,
                    rule,
                    "unknown_field",
                    f"category {cat.code!r} has no detail field {name!r} (it has: "
                    f"{', '.join(cat.details) or 'none'}).",
                )
                continue
            self._values(where, rule, cat, name, field, match)

    def _values(
        self, where: Rule, rule: str, cat: Category, name: str, field: DetailField, match: Match
    ) -> None:
        if match.values is not None and field.type == "enum":
            bad = [v for v in match.values if str(v) not in field.values]
            if bad:
                self.add(
                    where,
                    rule,
                    "never_fires",
                    f"{cat.code}.{name} is never {', '.join(map(str, bad))} (allowed: "
                    f"{', '.join(field.values)}).",
                )
        if field.type in ("integer", "number"):
            low = (
                max(x for x in (match.min, field.min) if x is not None)
                if (match.min is not None or field.min is not None)
                else None
            )
            high = (
                min(x for x in (match.max, field.max) if x is not None)
                if (match.max is not None or field.max is not None)
                else None
            )
            if low is not None and high is not None and low > high:
                self.add(
                    where,
                    rule,
                    "never_fires",
                    f"{cat.code}.{name} can never be between {match.min} and {match.max}"
                    f" (the catalogue allows {field.min} to {field.max}).",
                )

    def _field_exists(self, where: Rule, rule: str, cat: Category | None, name: str) -> None:
        if not self._attribute(where, rule, name, cat.details.get(name) if cat else None):
            return
        if cat is not None and name not in cat.details:
            self.add(
                where, rule, "unknown_field", f"category {cat.code!r} has no detail field {name!r}."
            )

    # -- lists ----------------------------------------------------------------------------

    def _list(self, list_id: str, rule: ListRule) -> None:
        name = f"list {list_id}"
        if not rule.legal_basis.strip():
            self.add(
                rule,
                name,
                "missing_legal_basis",
                "a list needs the legal basis it rests on (Guobanfa [2020] No. 49).",
            )
        if rule.declared is not None:
            d = rule.declared
            entry = self._category(d, name, d.entry, rule.subject_kinds)
            for code in d.exits:
                self._category(d, name, code, rule.subject_kinds)
            if d.grace_from:
                self._field_exists(d, name, entry, d.grace_from)
            if d.term is not None:
                for field_name in (d.term.from_detail, d.term.extension_from):
                    if field_name:
                        self._field_exists(d.term, name, entry, field_name)
                self._where(d.term, name, entry, d.term.open_ended_when)
            for never in rule.never:
                self._where(never, name, entry, never.where)
                if never.after is not None:
                    prior = self._category(
                        never.after, name, never.after.category, rule.subject_kinds
                    )
                    self._where(never.after, name, prior, never.after.where)
                if never.age_below is not None and "person" not in rule.subject_kinds:
                    self.add(
                        never,
                        name,
                        "never_fires",
                        f"`never` ground {never.id!r} tests a person's age, but the list"
                        " covers no persons.",
                    )
        else:
            assert rule.computed is not None
            if rule.never:
                self.add(
                    rule,
                    name,
                    "never_fires",
                    "`never` grounds apply to declared lists only (they refuse an entry).",
                )
            for cond in rule.computed.conditions:
                self._condition(cond, name, rule.subject_kinds)

    def _condition(self, cond: Condition, name: str, kinds: Sequence[str]) -> None:
        cat = self._category(cond, name, cond.category, kinds)
        self._where(cond, name, cat, cond.where)
        if cond.latest and cond.at_least > 1:
            self.add(
                cond,
                name,
                "never_fires",
                "`latest: true` keeps one record per subject, so `at_least` above 1 can"
                " never be met.",
            )

    # -- scores ---------------------------------------------------------------------------

    def _score(self, score: Score) -> None:
        name = f"score {score.id}"
        if not score.legal_basis.strip():
            self.add(score, name, "missing_legal_basis", "a score needs its legal basis.")
        for r in score.rules:
            rule_name = f"{name} rule {r.id}"
            cat = self._category(r, rule_name, r.category, score.subject_kinds)
            for ender in r.ended_by:
                self._category(r, rule_name, ender, score.subject_kinds)
            self._where(r, rule_name, cat, r.where)
            if isinstance(r.points, Points):
                self._field_exists(r.points, rule_name, cat, r.points.by)
                field = cat.details.get(r.points.by) if cat else None
                if field is not None and field.type == "enum":
                    bad = [v for v in r.points.values if v not in field.values]
                    if bad:
                        self.add(
                            r.points,
                            rule_name,
                            "never_fires",
                            f"{r.category}.{r.points.by} is never {', '.join(bad)}.",
                        )
            if cat is not None and r.counts_for_months is None:
                by = cat.publicity.period_by
                longest = max([cat.publicity.period_months, *(by.months.values() if by else [])])
                if longest == 0:
                    self.add(
                        r,
                        rule_name,
                        "never_fires",
                        f"records of {r.category} are public for 0 months, so they never"
                        " count: set counts_for_months.",
                    )
        if score.consent:
            self._consent_score(score, name)
        for feature in score.features:
            self._feature(score, feature, f"{name} feature {feature.id}")
        if score.range is not None and score.range.min >= score.range.max:
            self.add(score, name, "score_range", "range.min must be below range.max.")
        self._bands(score)

    def _consent_score(self, score: Score, name: str) -> None:
        """A score that needs consent reads only the conduct the catalogue marks for it."""
        reads: list[tuple[Rule, str, str]] = [
            (r, f"{name} rule {r.id}", r.category) for r in score.rules
        ]
        reads += [(f, f"{name} feature {f.id}", f.category) for f in score.features]
        for where, rule, code in reads:
            cat = self.catalog.category(code)
            if cat is not None and not cat.commercial_score:
                self.add(
                    where,
                    rule,
                    "not_conduct",
                    f"category {code!r} is not marked `commercial_score` in the catalogue: a"
                    " score that needs consent reads only how the subject met their own"
                    " obligations (loans, contracts, bills, court findings), never purchases,"
                    " location, personal characteristics or other people's data.",
                )

    def _feature(self, score: Score, feature: Feature, name: str) -> None:
        cat = self._category(feature, name, feature.category, score.subject_kinds)
        for ender in feature.ended_by:
            self._category(feature, name, ender, score.subject_kinds)
        self._where(feature, name, cat, feature.where)
        if feature.of is not None:
            self._field_exists(feature, name, cat, feature.of)
            field = cat.details.get(feature.of) if cat else None
            if field is not None and field.type not in ("integer", "number"):
                self.add(
                    feature,
                    name,
                    "not_a_number",
                    f"`max` needs a number; {feature.of!r} is {field.type}.",
                )
        if not feature.bins:
            self.add(feature, name, "feature_bins", "a feature needs bins with points.")
        for b in feature.bins:
            if b.values is not None:
                self.add(
                    b, name, "feature_bins", "features are numbers: bin them with min and max."
                )
            if b.missing and (b.min is not None or b.max is not None):
                self.add(b, name, "feature_bins", "the missing bin takes no min or max.")
            if b.missing and feature.aggregate == "count":
                self.add(b, name, "feature_bins", "a count is never missing (no records is 0).")
        if len([b for b in feature.bins if b.missing]) > 1:
            self.add(feature, name, "feature_bins", "a feature has at most one missing bin.")
        bands = sorted(
            (b for b in feature.bins if not b.missing and b.values is None),
            key=lambda b: float("-inf") if b.min is None else b.min,
        )
        points = [b.points for b in bands]
        if feature.higher_is == "worse" and points != sorted(points, reverse=True):
            self.add(
                feature,
                name,
                "points_direction",
                "a higher figure is worse, so its points may not rise with it: the reason"
                " and its advice would not hold.",
            )
        if feature.higher_is == "better" and points != sorted(points):
            self.add(
                feature,
                name,
                "points_direction",
                "a higher figure is better, so its points may not fall with it.",
            )

    def _bands(self, score: Score) -> None:
        name = f"score {score.id}"
        ids = [g.grade for g in score.grades]
        for dup in {g for g in ids if ids.count(g) > 1}:
            self.add(score, name, "grade_bands", f"grade {dup!r} is defined twice.")
        low = float("-inf")
        bands = sorted(score.grades, key=lambda g: low if g.min is None else g.min)
        for g in bands:
            if g.min is not None and g.max is not None and g.min > g.max:
                self.add(g, name, "grade_bands", f"grade {g.grade}: min {g.min} > max {g.max}.")
        if not bands:
            self.add(score, name, "grade_bands", "a score needs grade bands.")
            return
        if bands[0].min is not None:
            self.add(
                bands[0],
                name,
                "grade_bands",
                f"scores below {bands[0].min} have no grade: give the lowest band no min.",
            )
        if bands[-1].max is not None:
            self.add(
                bands[-1],
                name,
                "grade_bands",
                f"scores above {bands[-1].max} have no grade: give the highest band no max.",
            )
        for prev, nxt in itertools.pairwise(bands):
            if prev.max is None or nxt.min is None:
                self.add(
                    nxt,
                    name,
                    "grade_bands",
                    f"grades {prev.grade} and {nxt.grade} overlap (an open end meets a band).",
                )
            elif nxt.min <= prev.max:
                self.add(
                    nxt,
                    name,
                    "grade_bands",
                    f"grades {prev.grade} ({prev.min}..{prev.max}) and {nxt.grade}"
                    f" ({nxt.min}..{nxt.max}) overlap.",
                )
            elif nxt.min > prev.max + 1:
                self.add(
                    nxt,
                    name,
                    "grade_bands",
                    f"scores {prev.max + 1} to {nxt.min - 1} fall between grades"
                    f" {prev.grade} and {nxt.grade}.",
                )

    # -- measures -------------------------------------------------------------------------

    def _measure(self, m: Measure) -> None:
        name = f"measure {m.id}"
        if not m.legal_basis.strip():
            self.add(
                m,
                name,
                "missing_legal_basis",
                "a measure needs the legal basis that authorises it.",
            )
        if not m.actions:
            self.add(m, name, "missing_action", "a measure must cover at least one partner action.")
        if m.kind == "restrict" and not m.remedy.strip():
            self.add(m, name, "missing_remedy", "a restriction must tell the subject the remedy.")
        for use in m.actions:
            if not use.line:  # written as a bare action name: point at the measure
                use._file, use._line = m.file, m.line
            spec = self.policy.actions.get(use.action)
            if spec is None:
                self.add(
                    use,
                    name,
                    "unknown_action",
                    f"partner action {use.action!r} is not declared under `actions`.",
                )
                continue
            for key, match in use.when.items():
                if key not in spec.context:
                    self._attribute(use, name, key, None)
                    self.add(
                        use, name, "unknown_field", f"action {use.action!r} has no context {key!r}."
                    )
                elif spec.context[key].type == "enum" and match.values is not None:
                    bad = [v for v in match.values if str(v) not in spec.context[key].values]
                    if bad:
                        self.add(
                            use,
                            name,
                            "never_fires",
                            f"context {key} is never {', '.join(map(str, bad))}.",
                        )
        self._trigger(m, name)
        for role in m.applies_to:
            if role != SUBJECT_ROLE and role not in self.roles:
                self.add(
                    m,
                    name,
                    "unlinked_person",
                    f"{role!r} is not a legally defined role: a measure may reach only the "
                    f"subject and persons a registry names as {', '.join(sorted(self.roles))}.",
                )

    def _trigger(self, m: Measure, name: str) -> None:
        t = m.trigger
        for list_id in t.lists:
            if list_id not in self.policy.lists:
                self.add(t, name, "never_fires", f"trigger list {list_id!r} is not defined.")
        if t.score is not None:
            score = self.policy.scores.get(t.score)
            if score is None:
                self.add(t, name, "never_fires", f"trigger score {t.score!r} is not defined.")
                return
            if score.consent and m.kind != "reward":
                self.add(
                    t,
                    name,
                    "consent_score_restricts",
                    f"score {t.score} exists only by the subject's consent: it may grant"
                    " rewards (a waived deposit), never restrict a service.",
                )
            known = {g.grade for g in score.grades}
            for grade in t.grades:
                if grade not in known:
                    self.add(
                        t,
                        name,
                        "never_fires",
                        f"score {t.score} has no grade {grade!r} ({', '.join(sorted(known))}).",
                    )


def check_policy(policy: Policy, catalog: Catalog) -> list[Finding]:
    return Checker(policy, catalog).run()


def check_directory(directory: Path, catalog: Catalog) -> list[Finding]:
    """Load and check a policy directory; a load error is reported as one finding."""
    try:
        policy = load_policy(directory)
    except PolicyError as exc:
        file, _, rest = exc.message.partition(": ")
        path, _, line = file.rpartition(":")
        if path and line.isdigit():
            return [Finding(Path(path).name, int(line), "(file)", "malformed", rest)]
        return [Finding(str(directory), 0, "(policy)", "malformed", exc.message)]
    return check_policy(policy, catalog)


def require_valid(policy: Policy, catalog: Catalog) -> None:
    """Refuse to evaluate a policy with findings."""
    findings = check_policy(policy, catalog)
    if findings:
        shown = "\n".join(f"  {f}" for f in findings[:10])
        raise PolicyError(
            f"Policy {policy.label} has {len(findings)} problem(s) and cannot be evaluated:\n"
            f"{shown}",
            hint=f"Run `xinyong policy check {policy.directory}` and fix them.",
            code="policy_check_failed",
        )
