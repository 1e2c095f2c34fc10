"""The layers of docs/architecture.md hold, and the check that keeps them would catch a breach.

`lint-imports` (import-linter, configured in pyproject.toml) runs in .ci/run; these tests
prove that it passes on the code as it is and fails on a copy with one backward import, and
that every `type: ignore` in the package says why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports")

pytestmark = pytest.mark.skipif(
    LINT is None and not os.environ.get("CI"), reason="import-linter is not installed"
)


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [LINT or "lint-imports", "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_layers_hold(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "backward"),
    [
        # The ledger runs evaluation only through the hook its caller passes.
        ("ledger/ingest.py", "from xinyong.evaluation import incremental"),
        # Two packages of one layer never import each other.
        ("decisions/service.py", "from xinyong.feed import delivery"),
        # The policy language knows nothing of where it runs.
        ("policy/compiler.py", "from xinyong.engines import base"),
    ],
)
def test_a_backward_import_breaks_the_build(tmp_path: Path, module: str, backward: str) -> None:
    tree = _copy(tmp_path)
    target = tree / "src" / "xinyong" / module
    target.write_text(target.read_text() + f"\n{backward}  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout or "broken" in result.stdout


def test_every_type_ignore_says_why() -> None:
    bare = []
    for path in (ROOT / "src" / "xinyong").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "type: ignore" not in line:
                continue
            # `# type: ignore[code]  # the reason`
            if not re.search(r"type: ignore\[[a-z-, ]+\]\s+#\s*\S", line):
                bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bare, "type: ignore without an error code and a reason:\n" + "\n".join(bare)


def test_no_module_imports_a_package_that_imports_it_back() -> None:
    """A second, independent check of the contract: no two top-level parts import each other."""
    pattern = re.compile(r"^\s*(?:from|import) xinyong\.(\w+)", re.M)
    edges: dict[str, set[str]] = {}
    package = ROOT / "src" / "xinyong"
    for path in package.rglob("*.py"):
        part = path.relative_to(package).parts[0].removesuffix(".py")
        for found in pattern.findall(path.read_text()):
            if found != part:
                edges.setdefault(part, set()).add(found)
    mutual = sorted(
        f"{a} <-> {b}" for a, targets in edges.items() for b in targets if a in edges.get(b, ())
    )
    assert not mutual, mutual
