"""The package's shape: no import cycles, and no facts of the default article in its code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qa"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """The qa modules ``tree`` imports anywhere, lazy imports in functions included."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return found & modules


def import_graph(root: Path) -> dict[str, set[str]]:
    paths = {module_name(path, root): path for path in root.rglob("*.py")}
    modules = set(paths)
    return {
        name: imports(ast.parse(path.read_text(encoding="utf-8")), modules) - {name}
        for name, path in paths.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                return [*path[path.index(imported) :], imported]
            if imported not in state and (cycle := visit(imported)):
                return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_qa_has_no_import_cycles() -> None:
    graph = import_graph(PACKAGE)
    assert {"qa.index", "qa.store", "qa.web.layout"} <= set(graph)
    assert "qa.passages" in graph["qa.index"]  # `from qa import passages` is an edge
    assert find_cycle(graph) is None


def test_find_cycle_finds_one(tmp_path: Path) -> None:
    package = tmp_path / "qa"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from qa import b\n")
    (package / "b.py").write_text("def f():\n    from qa.c import g\n")
    (package / "c.py").write_text("import qa.a\n")
    assert find_cycle(import_graph(package)) == ["qa.a", "qa.b", "qa.c", "qa.a"]


@pytest.mark.parametrize("fact", ["Malaysia", "NAIO", "BABL", "RM10"])
def test_no_default_article_facts_in_the_code(fact: str) -> None:
    pattern = re.compile(re.escape(fact), re.IGNORECASE)
    named = [str(p) for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text("utf-8"))]
    assert named == []


def test_qa_is_inference_only() -> None:
    """qa/ never imports the training code, at module level or lazily: it lives in training/,
    beside the package, and is not installed with it."""
    heavy = {"training"}
    named = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            if roots & heavy:
                named[str(path.relative_to(PACKAGE))] = sorted(roots & heavy)
    assert named == {}


def test_import_qa_loads_no_training_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys, qa; qa.Answer; roots = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(roots & {'training', 'torch', 'onnxruntime'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
