"""A deterministic synthetic city: persons, organisations and agencies, and the records that
its sources (courts, tax bureau, regulators, lenders, ...) would submit about them.

Output is one JSON Lines file per source kind, ready for ``xinyong ingest FILE --source ID``.
The same arguments (including ``today``) give byte-identical files: all randomness comes
from a seeded ``random.Random`` and a seeded Faker instance, never from the clock.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from faker import Faker
from faker.providers.ssn.zh_CN import Provider as ZhSsn

from xinyong.catalog.model import CONSENT_CATEGORY
from xinyong.demo.loans import borrowers, consenting, loan_history
from xinyong.errors import InvalidIdentifier
from xinyong.ids import parse_subject
from xinyong.ids.regions import region_name, region_rows
from xinyong.ids.uscc import ALPHABET, check_character
from xinyong.score.consent import consent_text

# The city: Beijing's districts (region codes 1101xx); its courts' codes start with 京.
CITY_PREFIX, CITY_NAME, CITY_ABBR = "1101", "北京市", "京"
LOCAL_BIRTH_SHARE = 0.6  # persons born in the city; the rest come from anywhere in China
MINOR_SHARE = 0.02

# Share of each pool that gets a record of the kind (at least one when the pool is not
# empty, so that even a tiny city covers every category).
RATES: dict[str, float] = {
    "defaulter_person": 0.01,
    "defaulter_org": 0.03,
    "defaulter_agency": 0.02,
    "restricted": 0.85,
    "delisted": 0.35,
    "lifted_unlisted": 0.05,
    "penalty_serious": 0.004,
    "penalty_general": 0.03,
    "penalty_minor": 0.06,
    "penalty_person": 0.003,
    "penalty_agency": 0.02,
    "license": 0.15,
    "abnormal": 0.02,
    "abnormal_removed": 0.5,
    "serious_illegal": 0.003,
    "serious_removed": 0.3,
    "tax_rating": 0.8,
    "tax_major_org": 0.002,
    "tax_major_person": 0.0001,
    "tax_major_removed": 0.3,
    "si_arrears_org": 0.02,
    "si_arrears_person": 0.001,
    "si_arrears_agency": 0.02,
    "loan_repaid_person": 0.20,
    "loan_repaid_org": 0.10,
    "loan_overdue_person": 0.03,
    "loan_overdue_org": 0.02,
    "rental_person": 0.004,
    "rental_org": 0.003,
    "transport_person": 0.005,
    "court_breach_org": 0.005,
    "utility_person": 0.01,
    "utility_org": 0.01,
    "utility_agency": 0.02,
    "blood_donation": 0.02,
    "volunteer_service": 0.02,
    "model_worker": 0.0005,
    "charity_donation": 0.005,
    "civic_award": 0.001,
    "charity_org": 0.01,
    "civic_award_org": 0.002,
    "commitment_breach": 0.06,
    "bond_default": 0.02,
}
SECTORS = {
    "retail": 20,
    "manufacturing": 15,
    "food": 15,
    "technology": 15,
    "construction": 10,
    "logistics": 8,
    "services": 6,
    "real_estate": 5,
    "drugs": 3,
    "finance": 3,
}
INDUSTRY = {
    "retail": ["商贸", "商业连锁", "百货"],
    "manufacturing": ["机械制造", "电子", "精密仪器"],
    "food": ["食品", "餐饮管理", "农产品"],
    "technology": ["科技", "信息技术", "软件"],
    "construction": ["建设工程", "建筑", "装饰工程"],
    "logistics": ["物流", "运输", "供应链管理"],
    "services": ["企业管理咨询", "家政服务", "文化传媒"],
    "real_estate": ["房地产开发", "物业管理"],
    "drugs": ["医药", "大药房"],
    "finance": ["融资租赁", "投资管理"],
}
FORMS = {"有限公司": 70, "有限责任公司": 20, "股份有限公司": 10}
OWNERSHIP = {"private": 80, "state_owned": 8, "foreign": 5, "mixed": 4, "collective": 3}
TAX_LEVELS = {"A": 30, "B": 50, "M": 12, "C": 5, "D": 3}
# Penalty matters: (regulated sector, source kind, deciding authority, document prefix, matter).
MATTERS = [
    ("food", "market_regulator", "市场监督管理局", "市监罚", "销售超过保质期的食品"),
    ("food", "market_regulator", "市场监督管理局", "市监罚", "未按规定进行食品进货查验"),
    ("drugs", "market_regulator", "市场监督管理局", "市监罚", "未按规定储存药品"),
    ("consumer_rights", "market_regulator", "市场监督管理局", "市监罚", "虚假宣传"),
    ("fair_competition", "market_regulator", "市场监督管理局", "市监罚", "价格违法行为"),
    ("product_safety", "market_regulator", "市场监督管理局", "市监罚", "产品质量抽检不合格"),
    ("work_safety", "regulator", "应急管理局", "应急罚", "未按规定开展安全生产教育培训"),
    ("construction", "regulator", "住房和城乡建设委员会", "建罚", "未取得施工许可证擅自施工"),
    ("environment", "regulator", "生态环境局", "环罚", "超标排放大气污染物"),
    ("transport", "regulator", "交通委员会", "交罚", "超限超载运输"),
    ("tax", "tax", "税务局", "税罚", "未按规定期限办理纳税申报"),
    (
        "social_insurance",
        "social_insurance",
        "社会保险事业管理中心",
        "社保罚",
        "未按规定办理社会保险登记",
    ),
]
MEASURES = {
    "minor": ["warning", "criticism", "fine"],
    "general": ["fine", "fine", "confiscation"],
    "serious": ["licence_revocation", "closure", "production_restriction", "fine"],
}
LICENSES = {  # sector -> (licence, source kind)
    "food": ("食品经营许可证", "market_regulator"),
    "retail": ("食品经营许可证", "market_regulator"),
    "drugs": ("药品经营许可证", "market_regulator"),
    "construction": ("建筑施工企业安全生产许可证", "regulator"),
    "manufacturing": ("排污许可证", "regulator"),
    "logistics": ("道路运输经营许可证", "regulator"),
    "technology": ("增值电信业务经营许可证", "regulator"),
}
AGENCY_DEPTS = [
    "人民政府",
    "财政局",
    "市场监督管理局",
    "生态环境局",
    "住房和城乡建设委员会",
    "教育委员会",
    "卫生健康委员会",
    "交通委员会",
    "民政局",
    "人力资源和社会保障局",
    "水务局",
    "商务局",
    "城市管理委员会",
    "文化和旅游局",
    "应急管理局",
    "农业农村局",
    "司法局",
    "审计局",
    "统计局",
]
INSTITUTIONS = ["第{}中学", "第{}小学", "第{}幼儿园", "人民医院", "图书馆", "疾病预防控制中心"]
OBLIGATIONS = [
    "支付货款及利息",
    "偿还借款本金及利息",
    "支付工程款",
    "支付劳动报酬",
    "返还租赁物",
    "赔偿损失",
]
DELIST_REASONS = {
    "performed": 55,
    "settlement_performed": 15,
    "creditor_request": 10,
    "no_assets_found": 8,
    "enforcement_terminated": 5,
    "term_ended": 5,
    "wrongly_listed": 2,
}
TAX_MATTERS = ["偷税", "虚开增值税专用发票", "骗取出口退税", "逃避追缴欠税"]
BREACHES = {
    "rental_person": ["租赁车辆逾期未归还", "拖欠房屋租金", "损坏租赁设备未赔偿"],
    "rental_org": ["拖欠设备租金", "逾期未归还租赁设备"],
    "transport_person": ["拒不补交票款", "逾期未支付改签费用"],
}
COMMITMENTS = ["未按合同约定支付工程款", "未兑现招商引资优惠政策承诺", "未履行生效判决"]
TITLES = {
    "model_worker": ["北京市劳动模范", "全国劳动模范"],
    "civic_award": ["北京市道德模范", "见义勇为先进个人"],
    "civic_award_org": ["守合同重信用企业"],
}
PERSON_LOANS = {"consumer": 35, "credit_card": 30, "mortgage": 20, "student": 5, "other": 10}
UTILITIES = {"electricity": 30, "water": 25, "gas": 20, "heating": 15, "telecom": 10}
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_DAY = dt.timedelta(days=1)


@dataclass
class CityFiles:
    files: dict[str, Path]  # source kind -> JSONL path
    persons: int
    organisations: int
    agencies: int
    records: int  # rows written in total, bad rows included
    bad_rows: int  # rows made invalid on purpose, so that the rejects path shows
    minors_records: int  # records about persons under 18 on occurred_on
    # The persons with a loan history from the known model (demo/loans.py), whose true risk
    # `outcome_probability(propensity(seed, id))` a fitted scorecard is measured against.
    borrowers: tuple[str, ...] = ()
    seed: int = 42


def org_check_character(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body (A=10 ... Z=35)."""
    values = (int(c) if c.isdigit() else ord(c) - 55 for c in body8)
    c = 11 - sum(v * w for v, w in zip(values, _GB11714_WEIGHTS, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def _adult_on(birth: dt.date) -> dt.date:
    try:
        return birth.replace(year=birth.year + 18)
    except ValueError:  # born on 29 February
        return dt.date(birth.year + 18, 3, 1)


class _City:
    def __init__(self, seed: int, today: dt.date) -> None:
        self.r = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.today = today
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.count: dict[str, int] = {}
        self.since: dict[str, dt.date] = {}  # earliest plausible date of a record about a subject
        self.adult_from: dict[str, dt.date] = {}  # persons only
        self.names: dict[str, str] = {}  # organisations and agencies
        self.sector: dict[str, str] = {}  # organisations
        self.minors_records = 0
        self.districts = [
            c
            for c, _s, end, _n in region_rows()
            if c.startswith(CITY_PREFIX) and c != CITY_PREFIX + "00" and end is None
        ]

    # -- helpers ---------------------------------------------------------------------------

    def pick(self, pool: Sequence[str], rate: float) -> list[str]:
        k = min(len(pool), max(1, round(rate * len(pool)))) if pool else 0
        return self.r.sample(pool, k)

    def weighted(self, table: dict[str, int]) -> str:
        return self.r.choices(list(table), weights=list(table.values()))[0]

    def when(self, subject: str, years: float = 5, latest: dt.date | None = None) -> dt.date:
        """A day in the last ``years``, not before the subject could have had the record."""
        hi = latest or self.today
        lo = max(self.since[subject], self.today - dt.timedelta(days=round(365.25 * years)))
        return hi if lo >= hi else lo + dt.timedelta(days=self.r.randrange((hi - lo).days + 1))

    def after(self, day: dt.date, lo: int = 1, hi: int = 400) -> dt.date:
        return min(self.today, day + dt.timedelta(days=self.r.randint(lo, hi)))

    def money(self, lo: float, hi: float) -> float:
        return round(math.exp(self.r.uniform(math.log(lo), math.log(hi))), 2)

    def court(self) -> tuple[str, str]:
        d = self.r.choice(self.districts)
        return f"{CITY_NAME}{region_name(d)}人民法院", f"{CITY_ABBR}{d[2:]}"

    def add(
        self,
        kind: str,
        subject: str,
        category: str,
        on: dt.date,
        details: dict[str, Any],
        amount: float | None = None,
        document: str | None = None,
        basis: str | None = None,
    ) -> None:
        self.count[kind] = n = self.count.get(kind, 0) + 1
        rec: dict[str, Any] = {
            "source_record_id": f"{kind}-{n:06d}",
            "subject": subject,
            "category": category,
            "occurred_on": on.isoformat(),
        }
        if amount is not None:
            rec["amount"] = amount
        if document:
            rec["document"] = document
        if basis:
            rec["legal_basis"] = basis
        rec["details"] = details
        self.push(kind, rec)

    def push(self, kind: str, rec: dict[str, Any]) -> None:
        adult = self.adult_from.get(rec["subject"])
        if adult is not None and dt.date.fromisoformat(rec["occurred_on"]) < adult:
            self.minors_records += 1
        self.rows.setdefault(kind, []).append(rec)

    # -- subjects --------------------------------------------------------------------------

    def persons(self, n: int) -> tuple[list[str], list[str]]:
        """Resident numbers built as Faker's zh_CN ssn provider builds them (its area codes,
        age in days, 3-digit sequence, its MOD 11-2 formula), but dated from ``today``, not
        the wall clock (which would break determinism), and with the area drawn among codes
        that existed in the birth year, so that nearly every candidate passes stdnum."""
        spans: dict[str, list[tuple[int | None, int | None]]] = {}
        for code, start, end, _name in region_rows():
            spans.setdefault(code, []).append((start, end))
        codes = [c for c in ZhSsn.area_codes if c in spans]
        by_year: dict[int, tuple[list[str], list[str]]] = {}
        fr = self.fake.random
        n_minors = round(n * MINOR_SHARE)
        adults: list[str] = []
        minors: list[str] = []
        seen: set[str] = set()
        while len(seen) < n:
            minor = len(minors) < n_minors
            # 18 years are at least 18 * 365 + 4 days: adults are 18 or more, minors less.
            days = fr.randint(0, 18 * 365 - 1) if minor else fr.randint(18 * 365 + 5, 90 * 365)
            birth = self.today - dt.timedelta(days=days)
            y = birth.year
            if y not in by_year:
                ok = [c for c in codes if any((s or y) <= y <= (e or y) for s, e in spans[c])]
                by_year[y] = ([c for c in ok if c.startswith(CITY_PREFIX)] or ok, ok)
            area = fr.choice(by_year[y][0 if fr.random() < LOCAL_BIRTH_SHARE else 1])
            body = f"{area}{y:04d}{birth.month:02d}{birth.day:02d}{fr.randrange(1000):03d}"
            pid = body + str((1 - 2 * int(body, 13)) % 11).replace("10", "X")
            if pid in seen:
                continue
            try:
                parse_subject(pid)
            except InvalidIdentifier:
                continue
            seen.add(pid)
            (minors if minor else adults).append(pid)
            self.adult_from[pid] = _adult_on(birth)
            self.since[pid] = birth if minor else self.adult_from[pid]
        return adults, minors

    def credit_code(self, prefix: str, region: str, seen: set[str], letters: bool) -> str:
        """Authority + category, region, GB 11714 organisation code, MOD 31 check."""
        while True:
            if letters:  # organisation codes issued since 2015 read "MA" + 6 characters
                body = "MA" + "".join(self.r.choices(ALPHABET, k=6))
            else:
                body = ("0" if prefix == "11" else "") + "".join(self.r.choices("0123456789", k=8))
            code17 = prefix + region + body[:8] + org_check_character(body[:8])
            code = code17 + check_character(code17)
            if code not in seen:
                seen.add(code)
                return code

    def org_name(self, prefix: str, district: str, sector: str, tries: int) -> str:
        """Region + trade name (Faker's zh_CN company prefixes) + industry + legal form."""
        f, r, dname = self.fake, self.r, region_name(district) or ""
        place = dname[:-1] if tries else ""
        # Some of Faker's prefixes end in 公司, which would then appear twice in the name.
        trade = f.company_prefix().replace("公司", "") + (f.first_name() if tries > 10 else "")
        if prefix[0] == "5":
            return f"{CITY_NAME}{place}{trade}{r.choice(['协会', '促进会', '基金会', '研究会'])}"
        if prefix == "12":
            return f"{CITY_NAME}{dname}{r.choice(INSTITUTIONS).format(r.randint(1, 150))}"
        industry = r.choice(INDUSTRY[sector])
        if prefix == "92":  # individual businesses trade under the owner's name
            return f"{CITY_NAME}{dname}{f.name()}{industry}经营部"
        if prefix == "93":
            return f"{CITY_NAME}{place}{trade}农产品专业合作社"
        return f"北京{place}{trade}{industry}{self.weighted(FORMS)}"

    def register(
        self, kind: str, code: str, name: str, sector: str, details: dict[str, Any]
    ) -> None:
        on = self.today - dt.timedelta(days=self.r.randint(30, 3650))
        self.since[code], self.names[code], self.sector[code] = on, name, sector
        self.add(kind, code, "administrative.registration", on, {"name": name, **details})

    def organisations(self, n: int, reps: list[str]) -> list[str]:
        """Enterprises (91), individual businesses (92), cooperatives (93), social
        organisations (51-53, civil affairs) and public institutions (12, staffing office)."""
        r, few = self.r, max(1, round(n * 0.015))
        prefixes = [r.choice(["51", "52", "53"]) for _ in range(few)] + ["12"] * few
        prefixes += ["93"] * round(n * 0.03) + ["92"] * round(n * 0.12)
        prefixes = (prefixes + ["91"] * n)[:n]
        r.shuffle(prefixes)
        seen: set[str] = set()
        used: set[str] = set()
        out: list[str] = []
        for prefix in prefixes:
            district = r.choice(self.districts)
            business = prefix[0] == "9"
            code = self.credit_code(prefix, district, seen, business and r.random() < 0.7)
            sector = self.weighted(SECTORS) if business else "public_services"
            name, tries = self.org_name(prefix, district, sector, 0), 0
            while name in used:  # registered names are unique within the city
                tries += 1
                name = self.org_name(prefix, district, sector, tries)
            used.add(name)
            details: dict[str, Any] = {"legal_representative": r.choice(reps)}
            if business and r.random() < 0.3:
                details["actual_controller"] = r.choice(reps)
            if business or prefix == "12":
                details["ownership"] = self.weighted(OWNERSHIP) if business else "public"
            details["sector"] = sector
            kind = {"9": "market_regulator", "5": "civil_affairs"}.get(prefix[0], "staffing_office")
            self.register(kind, code, name, sector, details)
            out.append(code)
        return out

    def agencies(self, n: int, reps: list[str]) -> list[str]:
        """District departments, then (beyond those) sub-district offices."""
        combos = [(d, dept) for d in self.districts for dept in AGENCY_DEPTS]
        picks = self.r.sample(combos, min(n, len(combos)))
        picks += [(self.r.choice(self.districts), "") for _ in range(n - len(picks))]
        seen: set[str] = set()
        used: set[str] = set()
        out: list[str] = []
        for district, dept in picks:
            name = f"{CITY_NAME}{region_name(district)}{dept}"
            while not dept or name in used:
                dept = f"{self.fake.street_name()}街道办事处"
                name = f"{CITY_NAME}{region_name(district)}{dept}"
            used.add(name)
            code = self.credit_code("11", district, seen, letters=False)
            details = {
                "legal_representative": self.r.choice(reps),
                "ownership": "public",
                "sector": "government",
            }
            self.register("staffing_office", code, name, "government", details)
            out.append(code)
        return out

    # -- records ---------------------------------------------------------------------------

    def case(self, subject: str, name: str, *, first: bool = False, minor: bool = False) -> None:
        """A defaulter listing with what usually follows: a consumption restriction, and for
        some a delisting, performance and the lifting of the restriction. The ``first`` case
        has all of them, so that even a tiny city covers every judicial category."""
        r = self.r
        court, code = self.court()
        # Minors' cases are recent, so that they were teenagers then, not small children.
        on = self.when(subject, years=1 if minor else 5, latest=self.today - _DAY)
        doc = f"({on.year}){code}执{r.randint(1, 9999)}号"
        situation = r.choices(range(1, 7), weights=[40, 10, 8, 12, 25, 5])[0]
        obligation = r.choice(OBLIGATIONS)
        details: dict[str, Any] = {"situation": situation}
        if situation > 1:
            details["term_months"] = 24
        if r.random() < 0.6:
            details["name"] = name
        details["obligation"], details["court"] = obligation, court
        amount = self.money(2_000, 5_000_000)
        self.add(
            "court",
            subject,
            "judicial.defaulter.listed",
            on,
            details,
            amount,
            doc,
            f"Fa Shi [2017] No. 7, Art. 1({situation})",
        )
        restricted = first or minor or r.random() < RATES["restricted"]
        if restricted:
            self.add(
                "court",
                subject,
                "judicial.consumption_restriction.issued",
                on,
                {"court": court, "obligation": obligation},
                amount,
                doc,
            )
        if minor:
            return
        if first or r.random() < RATES["delisted"]:
            off = self.after(on)
            reason = "performed" if first else self.weighted(DELIST_REASONS)
            self.add(
                "court",
                subject,
                "judicial.defaulter.delisted",
                off,
                {"reason": reason, "court": court},
                None,
                doc,
                "Fa Shi [2017] No. 7, Art. 10",
            )
            if reason in ("performed", "settlement_performed"):
                self.add(
                    "court",
                    subject,
                    "judicial.judgment.performed",
                    off,
                    {"court": court},
                    None,
                    doc,
                )
                if restricted:
                    self.add(
                        "court",
                        subject,
                        "judicial.consumption_restriction.lifted",
                        off,
                        {"reason": "performed"},
                        None,
                        doc,
                    )
        elif restricted and r.random() < RATES["lifted_unlisted"]:
            self.add(
                "court",
                subject,
                "judicial.consumption_restriction.lifted",
                self.after(on),
                {"reason": r.choice(["security_given", "creditor_agreed"])},
                None,
                doc,
            )

    def judicial(
        self, adults: list[str], minors: list[str], business: list[str], agencies: list[str]
    ) -> None:
        r = self.r
        for i, p in enumerate(self.pick(adults, RATES["defaulter_person"])):
            self.case(p, self.fake.name(), first=i == 0)
        listed = self.pick(business, RATES["defaulter_org"])
        for s in listed + self.pick(agencies, RATES["defaulter_agency"]):
            self.case(s, self.names[s])
        # A few minors are listed too: valid records that the policy must refuse to act on.
        teens = [m for m in minors if self.today - self.since[m] > dt.timedelta(days=12 * 365)]
        teens = teens or minors
        for m in r.sample(teens, min(len(teens), max(2, len(minors) // 200))):
            self.case(m, self.fake.name(), minor=True)
        for s in self.pick(business, RATES["court_breach_org"]):
            on = self.when(s)
            _court, code = self.court()
            self.add(
                "court",
                s,
                "commercial.contract.breach",
                on,
                {"matter": r.choice(OBLIGATIONS), "found_by": "court"},
                self.money(10_000, 2_000_000),
                f"({on.year}){code}民初{r.randint(1, 30000)}号",
            )

    def penalty(self, subject: str, severity: str, sector: str | None = None) -> None:
        r = self.r
        matches = [m for m in MATTERS if m[0] == sector] if sector and r.random() < 0.5 else []
        psector, kind, authority, short, matter = r.choice(matches or MATTERS)
        measure = "fine" if kind in ("tax", "social_insurance") else r.choice(MEASURES[severity])
        on = self.when(subject)
        hi = {"minor": 5_000, "general": 100_000, "serious": 2_000_000}[severity]
        self.add(
            kind,
            subject,
            "administrative.penalty",
            on,
            {
                "severity": severity,
                "matter": matter,
                "measure": measure,
                "sector": psector,
                "authority": f"{CITY_NAME}{region_name(r.choice(self.districts))}{authority}",
            },
            self.money(200, hi) if measure in ("fine", "confiscation") else None,
            f"{CITY_ABBR}{short}〔{on.year}〕{r.randint(1, 9999)}号",
        )
        self.repaired(kind, subject, severity, on)

    def repaired(self, kind: str, subject: str, severity: str, on: dt.date) -> None:
        """Every 40th general penalty old enough was repaired after its 3 months (no draw
        from the random stream, so the rest of the city stays as it was)."""
        if severity != "general" or on > self.today - dt.timedelta(days=120):
            return
        self.generals = getattr(self, "generals", 0) + 1
        if self.generals % 40 != 1:
            return
        penalty = self.rows[kind][-1]
        self.add(
            kind,
            subject,
            "credit.repair.granted",
            min(on + dt.timedelta(days=100), self.today - _DAY),
            {"repaired": penalty["source_record_id"], "commitment": "整改完毕，公开信用承诺"},
            None,
            penalty["document"],
        )

    def listing(
        self,
        kind: str,
        subjects: list[str],
        category: str,
        details: Callable[[], dict[str, Any]],
        removed_rate: float,
        reason: Callable[[int], str],
        **money: float,
    ) -> None:
        """Listings on a black list, some later removed (the first always, for coverage)."""
        for i, s in enumerate(subjects):
            on = self.when(s, latest=self.today - _DAY)
            amount = self.money(money["lo"], money["hi"]) if money else None
            self.add(kind, s, category + ".listed", on, details(), amount)
            if i == 0 or self.r.random() < removed_rate:
                off = self.after(on, 30, 1200)
                self.add(kind, s, category + ".removed", off, {"reason": reason((off - on).days)})

    def administrative(self, adults: list[str], business: list[str], agencies: list[str]) -> None:
        r, today, sector = self.r, self.today, self.sector
        for sev in ("serious", "general", "minor"):
            for s in self.pick(business, RATES[f"penalty_{sev}"]):
                self.penalty(s, sev, sector[s])
        for p in self.pick(adults, RATES["penalty_person"]):
            self.penalty(p, r.choice(["minor", "minor", "general"]))
        for a in self.pick(agencies, RATES["penalty_agency"]):
            self.penalty(a, "general")
        for s in self.pick([b for b in business if sector[b] in LICENSES], RATES["license"]):
            license_type, kind = LICENSES[sector[s]]
            on = self.when(s)
            status = self.weighted({"granted": 85, "renewed": 8, "suspended": 3, "revoked": 4})
            until = on.replace(year=on.year + 5, day=min(on.day, 28))
            self.add(
                kind,
                s,
                "administrative.license",
                on,
                {"license_type": license_type, "status": status, "valid_until": str(until)},
            )
        grounds = {
            "annual_report_missing": 70,
            "unreachable": 20,
            "disclosure_missing": 7,
            "false_information": 3,
        }
        removals = {"corrected": 90, "wrongly_listed": 5, "other": 5}
        self.listing(
            "market_regulator",
            self.pick(business, RATES["abnormal"]),
            "administrative.abnormal_operations",
            lambda: {"ground": self.weighted(grounds)},
            RATES["abnormal_removed"],
            lambda _days: self.weighted(removals),
        )
        illegal = ["food", "drugs", "product_safety", "consumer_rights", "fair_competition"]
        self.listing(
            "market_regulator",
            self.pick(business, RATES["serious_illegal"]),
            "administrative.serious_illegal",
            lambda: {"ground": "serious_violation", "sector": r.choice(illegal)},
            RATES["serious_removed"],  # early removal only after a year of repair
            lambda days: (
                "term_ended" if days > 3 * 365 else "repaired" if days >= 365 else "wrongly_listed"
            ),
        )
        year = today.year - 1
        published = min(dt.date(today.year, 4, 1), today)  # ratings come out in April
        rateable = [b for b in business if self.since[b].year <= year]
        for s in self.pick(rateable, RATES["tax_rating"]):
            on = min(published + dt.timedelta(days=r.randrange(30)), today)
            self.add(
                "tax",
                s,
                "tax.credit_rating",
                on,
                {"level": self.weighted(TAX_LEVELS), "year": year},
            )
        majors = self.pick(business, RATES["tax_major_org"])
        self.listing(
            "tax",
            majors + self.pick(adults, RATES["tax_major_person"]),
            "tax.major_violation",
            lambda: {"matter": r.choice(TAX_MATTERS)},
            RATES["tax_major_removed"],
            lambda days: (
                "term_ended" if days > 3 * 365 else "repaired" if days >= 365 else "wrongly_listed"
            ),
            lo=50_000,
            hi=20_000_000,
        )
        owing = self.pick(business, RATES["si_arrears_org"])
        owing += self.pick(adults, RATES["si_arrears_person"])
        for s in owing + self.pick(agencies, RATES["si_arrears_agency"]):
            months = r.randint(1, 24)
            self.add(
                "social_insurance",
                s,
                "social_insurance.arrears",
                self.when(s),
                {"months_in_arrears": months},
                self.money(500 * months, 50_000 * months),
            )

    def commercial(self, adults: list[str], business: list[str], agencies: list[str]) -> None:
        r = self.r
        for pool, who in ((adults, "person"), (business, "org")):
            for s in self.pick(pool, RATES[f"loan_repaid_{who}"]):
                loan = self.weighted(PERSON_LOANS) if who == "person" else "business"
                self.add(
                    "lender",
                    s,
                    "commercial.loan.repaid",
                    self.when(s),
                    {"loan_type": loan},
                    self.money(1_000, 3_000_000 if who == "person" else 50_000_000),
                )
            for s in self.pick(pool, RATES[f"loan_overdue_{who}"]):
                days = r.choice([r.randint(1, 30)] * 2 + [r.randint(31, 90), r.randint(91, 720)])
                loan = self.weighted(PERSON_LOANS) if who == "person" else "business"
                self.add(
                    "lender",
                    s,
                    "commercial.loan.overdue",
                    self.when(s),
                    {"days_overdue": days, "loan_type": loan},
                    self.money(100, 500_000),
                )
        for rate, matters in BREACHES.items():
            kind, _, who = rate.partition("_")
            for s in self.pick(adults if who == "person" else business, RATES[rate]):
                self.add(
                    kind,
                    s,
                    "commercial.contract.breach",
                    self.when(s),
                    {"matter": r.choice(matters), "found_by": "counterparty"},
                    self.money(20, 50_000),
                )
        for pool, who in ((adults, "person"), (business, "org"), (agencies, "agency")):
            for s in self.pick(pool, RATES[f"utility_{who}"]):
                months = r.randint(1, 12)
                self.add(
                    "utility",
                    s,
                    "commercial.utility.arrears",
                    self.when(s),
                    {"service": self.weighted(UTILITIES), "months_in_arrears": months},
                    self.money(50 * months, 2_000 * months),
                )

    def consents(self, people: list[str]) -> None:
        """Each opts in to the commercial score on the portal, on a day of the last year."""
        text = consent_text("commercial_score")
        for n, person in enumerate(people, 1):
            on = max(self.since[person], self.today - dt.timedelta(days=self.r.randrange(365)))
            self.push(
                "subject",
                {
                    "source_record_id": f"consent-commercial_score-demo-{n:06d}",
                    "subject": person,
                    "category": CONSENT_CATEGORY,
                    "occurred_on": on.isoformat(),
                    "details": {
                        "purpose": "commercial_score",
                        "text_version": text.version,
                        "channel": "portal",
                    },
                },
            )

    def social(self, adults: list[str], business: list[str]) -> None:
        r = self.r
        for rate in (
            "blood_donation",
            "volunteer_service",
            "model_worker",
            "charity_donation",
            "civic_award",
            "charity_org",
            "civic_award_org",
        ):
            pool = business if rate.endswith("_org") else adults
            kind = {"charity_org": "charity_donation", "civic_award_org": "civic_award"}.get(
                rate, rate
            )
            for s in self.pick(pool, RATES[rate]):
                details: dict[str, Any] = {"kind": kind}
                amount = None
                if kind == "blood_donation":
                    details["volume_ml"] = 200 * r.randint(1, 30)  # cumulative
                elif kind == "volunteer_service":
                    details["hours"] = r.randint(20, 3000)
                elif kind == "charity_donation":
                    amount = self.money(100, 1_000_000 if pool is business else 100_000)
                else:
                    details["title"] = r.choice(TITLES[rate])
                self.add("honours_office", s, "social.honor", self.when(s), details, amount)

    def government(self, agencies: list[str], business: list[str]) -> None:
        r = self.r
        for a in self.pick(agencies, RATES["commitment_breach"]):
            self.add(
                "credit_office",
                a,
                "government.commitment.breach",
                self.when(a),
                {
                    "matter": r.choice(COMMITMENTS),
                    "counterparty": self.names[r.choice(business)]
                    if business
                    else self.fake.company(),
                },
                self.money(100_000, 50_000_000),
            )
        for a in self.pick(agencies, RATES["bond_default"]):
            on = self.when(a)
            bond = f"{on.year - 3}年{CITY_NAME}{region_name(a[2:8])}城市建设债券（第一期）"
            self.add(
                "financial_regulator",
                a,
                "government.bond.default",
                on,
                {"bond": bond, "days_overdue": r.randint(1, 180)},
                self.money(10_000_000, 500_000_000),
            )

    def corrections(self, minors: set[str]) -> None:
        """A handful of corrections and revocations of earlier records of the same file."""
        plan = [
            ("court", "judicial.defaulter.listed", "correct"),
            ("court", "judicial.consumption_restriction.issued", "revoke"),
            ("market_regulator", "administrative.penalty", "correct"),
            ("tax", "tax.credit_rating", "correct"),
            ("lender", "commercial.loan.overdue", "revoke"),
            ("rental", "commercial.contract.breach", "revoke"),
        ]
        for kind, category, action in plan:
            candidates = [
                x
                for x in self.rows.get(kind, [])
                if x["category"] == category and x["subject"] not in minors and "action" not in x
            ]
            if not candidates:
                continue
            old = self.r.choice(candidates)
            self.count[kind] += 1
            new = {
                **old,
                "source_record_id": f"{kind}-{self.count[kind]:06d}",
                "details": dict(old["details"]),
            }
            if action == "correct" and category == "administrative.penalty":
                new["details"].update(severity="minor", measure="warning")
                new.pop("amount", None)
            elif action == "correct" and category == "tax.credit_rating":
                new["details"]["level"] = "A" if old["details"]["level"] != "A" else "B"
            elif action == "correct":
                new["amount"] = round(new["amount"] * 0.8, 2)
            new["action"], new["supersedes"] = action, old["source_record_id"]
            self.push(kind, new)

    def bad_rows(self, person: str) -> int:
        """Rows that ingestion must reject, each with one clear fault, put at random places."""
        # A wrong check character could by chance make a valid credit code: skip those.
        wrong = next(person[:-1] + c for c in "0123456789X" if not _valid(person[:-1] + c))
        future = (self.today + dt.timedelta(days=30)).isoformat()
        past = (self.today - dt.timedelta(days=40)).isoformat()
        loan, arrears = "commercial.loan.repaid", "commercial.utility.arrears"
        bad = [
            ("court", wrong, "judicial.defaulter.listed", past, None, {"situation": 1}),
            ("court", person, "judicial.defaulter.listed", past, 1000.0, {"term_months": 24}),
            ("lender", person, "commercial.loan.written_off", past, 5000.0, {}),
            ("lender", person, loan, past, -1200.0, {"loan_type": "consumer"}),
            ("lender", wrong, loan, past, 800.0, {"loan_type": "consumer"}),
            ("utility", person, arrears, future, 300.0, {"service": "water"}),
            ("utility", person, arrears, past, 300.0, {"months_in_arrears": 2}),
            ("utility", person, arrears, past, -50.0, {"service": "gas"}),
        ]
        for kind, subject, category, on, amount, details in bad:
            self.count[kind] += 1
            rec: dict[str, Any] = {
                "source_record_id": f"{kind}-{self.count[kind]:06d}",
                "subject": subject,
                "category": category,
                "occurred_on": on,
            }
            if amount is not None:
                rec["amount"] = amount
            rec["details"] = details
            rows = self.rows[kind]
            rows.insert(self.r.randrange(len(rows) + 1), rec)
        return len(bad)


def _valid(identifier: str) -> bool:
    try:
        parse_subject(identifier)
    except InvalidIdentifier:
        return False
    return True


def generate_city(
    out_dir: Path,
    *,
    persons: int = 100_000,
    orgs: int = 10_000,
    agencies: int = 50,
    seed: int = 42,
    today: dt.date,
    consent_share: float = 0.5,
    progress: Callable[[str], None] | None = None,
) -> CityFiles:
    """Generate a synthetic city and write one ``<source kind>.jsonl`` per source kind."""
    if persons < 1 or orgs < 0 or agencies < 0:
        raise ValueError("A city needs at least one person and no negative counts.")
    say = progress or (lambda _message: None)
    city = _City(seed, today)
    say(f"persons: {persons:,} resident numbers")
    adults, minors = city.persons(persons)
    # Office holders were adults when the registration was recorded (up to 10 years ago).
    cutoff = today - dt.timedelta(days=12 * 366)
    reps = [p for p in adults if city.adult_from[p] <= cutoff] or adults
    say(f"organisations: {orgs:,} credit codes and registrations")
    org_codes = city.organisations(orgs, reps)
    say(f"agencies: {agencies:,} credit codes and registrations")
    agency_codes = city.agencies(agencies, reps)
    business = [c for c in org_codes if c[0] == "9"]
    say("judicial records")
    city.judicial(adults, minors, business, agency_codes)
    say("administrative records")
    city.administrative(adults, business, agency_codes)
    say("commercial records")
    city.commercial(adults, business, agency_codes)
    say("loan history and consent to the commercial score")
    lenders_customers = borrowers(adults, seed)
    loan_history(
        lenders_customers,
        city.adult_from,
        seed=seed,
        today=today,
        add=lambda kind, s, cat, on, details, amount: city.add(kind, s, cat, on, details, amount),
    )
    city.consents(consenting(adults, consent_share, seed))
    say("social and government records")
    city.social(adults, business)
    city.government(agency_codes, business)
    city.corrections(set(minors))
    bad = city.bad_rows(adults[0])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for kind in sorted(city.rows):
        path = files[kind] = out_dir / f"{kind}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(rec) + b"\n" for rec in city.rows[kind]))
    total = sum(len(rows) for rows in city.rows.values())
    say(f"wrote {total:,} records in {len(files)} files to {out_dir}")
    return CityFiles(
        files=files,
        persons=len(adults) + len(minors),
        organisations=len(org_codes),
        agencies=len(agency_codes),
        records=total,
        bad_rows=bad,
        minors_records=city.minors_records,
        borrowers=tuple(lenders_customers),
        seed=seed,
    )
