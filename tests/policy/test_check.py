"""`policy check`: one test per kind of defect, each pinned to the file, line and rule."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from xinyong.catalog import load_catalog
from xinyong.errors import PolicyError
from xinyong.policy.check import Finding, check_directory, require_valid
from xinyong.policy.loader import default_policy_path, load_policy


def policy_with(tmp_path: Path, extra: str) -> Path:
    """The default policy plus one more file, extra.yaml, holding the rule under test."""
    folder = tmp_path / "policy"
    shutil.copytree(default_policy_path(), folder)
    (folder / "extra.yaml").write_text(textwrap.dedent(extra).lstrip(), encoding="utf-8")
    return folder


def findings(tmp_path: Path, extra: str) -> list[Finding]:
    return check_directory(policy_with(tmp_path, extra), load_catalog())


def only(found: list[Finding], code: str) -> Finding:
    matching = [f for f in found if f.code == code]
    assert len(matching) == 1, found
    assert matching[0].file == "extra.yaml"
    return matching[0]


def test_the_default_policy_is_clean() -> None:
    assert check_directory(default_policy_path(), load_catalog()) == []


def test_unknown_category(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        """
        lists:
          bad:
            label: Bad
            kind: black
            subject_kinds: [person]
            legal_basis: Some law
            declared:
              entry: judicial.defaulter.listd
        """,
    )
    f = only(found, "unknown_category")
    assert (f.line, f.rule) == (8, "list bad")  # the `entry:` line
    assert "judicial.defaulter.listd" in f.message


def test_unknown_detail_field(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        """
        scores:
          s:
            label: S
            subject_kinds: [person]
            base: 100
            legal_basis: Some law
            rules:
              - id: r
                category: commercial.loan.overdue
                where: {days_late: {min: 30}}
                points: -5
            grades:
              - {grade: A, min: 50}
              - {grade: B, max: 49}
        """,
    )
    f = only(found, "unknown_field")
    assert (f.line, f.rule) == (8, "score s rule r")
    assert "days_late" in f.message


def test_measure_without_legal_basis_or_action(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        """
        measures:
          no_basis:
            label: No basis
            kind: restrict
            actions: [flight.ticket.purchase]
            trigger: {list: judicial_defaulters}
            remedy: Pay.
          no_action:
            label: No action
            kind: restrict
            actions: []
            trigger: {list: judicial_defaulters}
            legal_basis: Some law
            remedy: Pay.
        """,
    )
    assert (only(found, "missing_legal_basis").line, only(found, "missing_legal_basis").rule) == (
        2,
        "measure no_basis",
    )
    assert (only(found, "missing_action").line, only(found, "missing_action").rule) == (
        8,
        "measure no_action",
    )


@pytest.mark.parametrize(
    ("field", "what"),
    [("ownership", "ownership"), ("sector", None)],
)
def test_ownership_is_a_forbidden_attribute_but_sector_is_not(
    tmp_path: Path, field: str, what: str | None
) -> None:
    value = "state_owned" if field == "ownership" else "food"
    found = findings(
        tmp_path,
        f"""
        lists:
          by_owner:
            label: By owner
            kind: red
            subject_kinds: [organisation]
            legal_basis: Some law
            computed:
              all:
                - category: administrative.registration
                  where: {{{field}: [{value}]}}
        """,
    )
    forbidden = [f for f in found if f.code == "forbidden_attribute"]
    if what is None:
        assert forbidden == []  # a sector rule (food safety for food companies) is allowed
    else:
        assert len(forbidden) == 1 and forbidden[0].line == 9 and what in forbidden[0].message


def test_region_and_prohibited_classes_are_forbidden(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        """
        measures:
          regional:
            label: Regional
            kind: restrict
            actions:
              - action: hotel.booking
                when: {region_code: ["110100"]}
            trigger: {list: judicial_defaulters}
            legal_basis: Some law
            remedy: Pay.
        lists:
          believers:
            label: Believers
            kind: black
            subject_kinds: [person]
            legal_basis: Some law
            computed:
              all:
                - category: social.honor
                  where: {religion: [any]}
        """,
    )
    forbidden = sorted((f.line, f.rule) for f in found if f.code == "forbidden_attribute")
    assert forbidden == [(6, "measure regional"), (19, "list believers")]
    assert any("religion" in f.message for f in found if f.code == "forbidden_attribute")


def test_measure_reaching_an_unlinked_person(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        """
        measures:
          family:
            label: Family too
            kind: restrict
            actions: [flight.ticket.purchase]
            trigger: {list: judicial_defaulters}
            applies_to: [subject, legal_representative, spouse]
            legal_basis: Some law
            remedy: Pay.
        """,
    )
    f = only(found, "unlinked_person")
    assert (f.line, f.rule) == (2, "measure family")
    assert "'spouse'" in f.message


@pytest.mark.parametrize(
    ("bands", "phrase"),
    [
        ("[{grade: A, min: 90}, {grade: B, min: 70, max: 90}, {grade: C, max: 69}]", "overlap"),
        ("[{grade: A, min: 90}, {grade: B, min: 70, max: 85}, {grade: C, max: 69}]", "86 to 89"),
        ("[{grade: A, min: 90}, {grade: B, min: 0, max: 89}]", "below 0"),
    ],
)
def test_grade_bands_with_overlaps_or_gaps(tmp_path: Path, bands: str, phrase: str) -> None:
    found = findings(
        tmp_path,
        f"""
        scores:
          graded:
            label: Graded
            subject_kinds: [organisation]
            base: 100
            legal_basis: Some law
            rules:
              - id: r
                category: commercial.contract.breach
                points: -10
            grades: {bands}
        """,
    )
    f = only(found, "grade_bands")
    assert f.rule == "score graded" and f.line == 11
    assert phrase in f.message


def test_rules_that_can_never_fire(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        """
        lists:
          persons_abnormal:
            label: Persons with abnormal operations
            kind: black
            subject_kinds: [person]
            legal_basis: Some law
            declared:
              entry: administrative.abnormal_operations.listed
          huge_penalties:
            label: Huge
            kind: black
            subject_kinds: [person]
            legal_basis: Some law
            computed:
              all:
                - category: administrative.penalty
                  where: {severity: [catastrophic]}
        measures:
          ghost:
            label: Ghost
            kind: restrict
            actions: [flight.ticket.purchase]
            trigger: {list: no_such_list}
            legal_basis: Some law
            remedy: Pay.
        """,
    )
    never = sorted((f.line, f.rule) for f in found if f.code == "never_fires")
    assert never == [
        (8, "list persons_abnormal"),
        (16, "list huge_penalties"),
        (23, "measure ghost"),
    ]


def test_malformed_files_are_findings_with_a_line(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        """
        lists:
          broken:
            label: Broken
            kind: grey
            subject_kinds: [person]
            legal_basis: Some law
            declared: {entry: judicial.defaulter.listed}
        """,
    )
    assert len(found) == 1
    assert (found[0].file, found[0].line, found[0].code) == ("extra.yaml", 4, "malformed")
    assert "kind" in found[0].message


def test_evaluation_refuses_a_policy_with_findings(tmp_path: Path) -> None:
    folder = policy_with(
        tmp_path,
        """
        measures:
          family:
            label: Family too
            kind: restrict
            actions: [flight.ticket.purchase]
            trigger: {list: judicial_defaulters}
            applies_to: [spouse]
            legal_basis: Some law
            remedy: Pay.
        """,
    )
    with pytest.raises(PolicyError) as caught:
        require_valid(load_policy(folder), load_catalog())
    assert caught.value.code == "policy_check_failed"
    assert "extra.yaml:2" in caught.value.message


def test_the_command_names_file_and_line_and_exits_1(tmp_path: Path) -> None:
    folder = policy_with(
        tmp_path,
        """
        measures:
          family:
            label: Family too
            kind: restrict
            actions: [flight.ticket.purchase]
            trigger: {list: judicial_defaulters}
            applies_to: [spouse]
            legal_basis: Some law
            remedy: Pay.
        """,
    )
    done = subprocess.run(
        ["xinyong", "--data-dir", str(tmp_path / "d"), "policy", "check", str(folder)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", **_python_path()},
    )
    assert done.returncode == 1
    assert f"{folder}/extra.yaml:2" in done.stdout
    assert "unlinked_person" in done.stdout


def _python_path() -> dict[str, str]:
    import os
    import shutil as sh

    exe = sh.which("xinyong")
    assert exe, "the xinyong command is not installed"
    return {"PATH": str(Path(exe).parent) + ":" + os.environ.get("PATH", "")}


@pytest.mark.parametrize(
    ("extra", "phrase"),
    [
        (
            """
            lists:
              judicial-defaulters:
                label: Hyphenated
                kind: black
                subject_kinds: [person]
                legal_basis: Some law
                declared: {entry: judicial.defaulter.listed}
            """,
            "lower-case",
        ),
        (
            """
            lists:
              empty_never:
                label: Empty never
                kind: black
                subject_kinds: [person]
                legal_basis: Some law
                declared: {entry: judicial.defaulter.listed}
                never:
                  - {id: nothing, label: Tests nothing}
            """,
            "age_below",
        ),
    ],
)
def test_ids_and_never_grounds_are_checked_on_load(tmp_path: Path, extra: str, phrase: str) -> None:
    found = findings(tmp_path, extra)
    assert [f.code for f in found] == ["malformed"]
    assert phrase in found[0].message and found[0].file == "extra.yaml"


@pytest.mark.parametrize(
    "where",
    ['{"situation) OR (1=1": 1}', '{"Situation": 1}', '{"situation; DROP TABLE x": 1}'],
)
def test_the_loader_refuses_a_detail_name_that_would_become_sql(tmp_path: Path, where: str) -> None:
    folder = policy_with(
        tmp_path,
        f"""
        lists:
          injected:
            label: Injected
            kind: black
            subject_kinds: [person]
            legal_basis: Some law
            computed:
              all:
                - category: judicial.defaulter.listed
                  where: {where}
        """,
    )
    with pytest.raises(PolicyError, match="no detail field name") as caught:
        load_policy(folder)
    assert "extra.yaml" in caught.value.message


def test_every_path_that_compiles_a_policy_checks_it(tmp_path: Path) -> None:
    import datetime as dt

    from xinyong.policy.compiler import compile_policy

    folder = policy_with(
        tmp_path,
        """
        lists:
          bad:
            label: Bad
            kind: black
            subject_kinds: [person]
            legal_basis: Some law
            declared:
              entry: judicial.defaulter.listd
        """,
    )
    with pytest.raises(PolicyError) as caught:
        compile_policy(load_policy(folder), load_catalog(), dt.date(2026, 1, 1))
    assert caught.value.code == "policy_check_failed"
