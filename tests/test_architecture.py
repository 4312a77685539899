"""The layout rules of docs/architecture.md, checked on the source tree.

Imports point one way: ``bot -> agents -> integrations / knowledge / config``. Modules stay
small enough to have one owner: at most 400 lines in ``bot/``, ``agents/`` and
``integrations/``, at most 350 in a platform adapter (``bot/slack``, ``bot/teams``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> the first-party packages it must never import
FORBIDDEN = {
    "agents": {"bot"},
    "integrations": {"bot", "agents"},
    "knowledge": {"bot", "agents"},
    "config": {"bot", "agents", "integrations", "knowledge"},
}
SIZE_LIMITS = {"bot": 400, "agents": 400, "integrations": 400}
ADAPTER_LIMIT = 350
ADAPTERS = ("bot/slack", "bot/teams")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {sorted(_imported_roots(path) & FORBIDDEN[package])}"
        for path in _modules(package)
        if _imported_roots(path) & FORBIDDEN[package]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_import_check_sees_a_wrong_import(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.py"
    wrong.write_text("from bot.core import texts\nimport agents.messages\n", encoding="utf-8")
    assert _imported_roots(wrong) == {"bot", "agents"}


@pytest.mark.parametrize("package", sorted(SIZE_LIMITS))
def test_modules_are_small(package: str) -> None:
    too_big = []
    for path in _modules(package):
        relative = path.relative_to(ROOT).as_posix()
        limit = ADAPTER_LIMIT if relative.startswith(ADAPTERS) else SIZE_LIMITS[package]
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            too_big.append(f"{relative}: {lines} lines (limit {limit})")
    assert not too_big, "split by responsibility:\n" + "\n".join(too_big)


def test_test_modules_have_unique_names() -> None:
    # Tests have no packages: two modules with one name make pytest refuse to collect.
    seen: dict[str, str] = {}
    clashes = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name == "conftest.py":
            continue
        relative = path.relative_to(ROOT).as_posix()
        if path.name in seen:
            clashes.append(f"{seen[path.name]} and {relative}")
        seen.setdefault(path.name, relative)
    assert not clashes, "rename one of each pair:\n" + "\n".join(clashes)
