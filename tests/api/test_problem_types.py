"""Every problem type has its page: each machine-readable code the product raises is in
problem_types.toml with a title, a status and a description, served at the address its
problem documents name as `type`, and listed in docs/problems.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.api.live import City, serving
from xinyong import errors
from xinyong.api.problems import STATUS, problem_types, type_page, types_markdown

ROOT = Path(__file__).resolve().parents[2]
RAISED = re.compile(r'code\s*=\s*"([a-z_]+)"')


def _codes_in_source() -> set[str]:
    found = set()
    for path in (ROOT / "src" / "xinyong").rglob("*.py"):
        found |= set(RAISED.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_code_the_product_raises_has_a_problem_type() -> None:
    types = problem_types()
    missing = sorted(_codes_in_source() - set(types))
    assert not missing, f"add these to src/xinyong/problem_types.toml: {missing}"
    for entry in types.values():
        assert entry["title"] and entry["description"] and entry["status"] in range(400, 600)
    # A class's own code has the status of its class.
    for cls, status in STATUS.items():
        assert types[cls.code]["status"] == status, cls.__name__


def test_each_type_has_its_page_and_the_docs_list_them_all() -> None:
    for code in problem_types():
        page = type_page(code)
        assert page is not None and f"<code>{code}</code>" in page
    assert type_page("no_such_code") is None
    index = type_page(None)
    assert index is not None and all(f"/problems/{c}" in index for c in problem_types())
    page = ROOT / "docs" / "problems.md"
    assert page.read_text(encoding="utf-8") == types_markdown(), (
        "regenerate: python -c 'from xinyong.api.problems import types_markdown as m;"
        ' print(m(), end="")\' > docs/problems.md'
    )


def test_a_problem_names_its_page_and_the_page_is_served(
    city: City, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = city.copy(tmp_path_factory.mktemp("problem-types") / "data")
    with serving(data) as server, server.client() as client:
        missing = client.get("/v1/no-such-route")
        doc = missing.json()
        assert missing.status_code == 404 and doc["type"] == "/problems/route_unknown"
        assert doc["title"] == problem_types()["route_unknown"]["title"]
        assert doc["detail"] != "Not Found" and "/v1/no-such-route" in doc["detail"]
        wrong = client.delete("/v1/decisions")
        assert wrong.status_code == 405 and "POST" in wrong.json()["hint"]
        page = client.get(doc["type"])
        assert page.status_code == 200 and "route_unknown" in page.text
        assert client.get("/problems/no_such_code").status_code == 404
    assert errors.MethodNotAllowed.code in problem_types()
