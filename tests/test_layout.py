"""The package's shape: each stage in its folder, no import cycles, and a library that never imports its CLI."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "pipeline"


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, everywhere: bool) -> set[str]:
    """The pipeline modules `path` imports: at module level only, or (everywhere) also inside functions."""
    tree = ast.parse(path.read_text())
    nodes = ast.walk(tree) if everywhere else tree.body
    found = set()
    for node in nodes:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports are types only
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("pipeline"))
    return found


def _graph(everywhere: bool) -> dict[str, set[str]]:
    modules = {_module(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {target for target in _imports(path, everywhere) if target in modules and target != name}
            for name, path in modules.items()}


def test_no_import_cycles_at_module_level():
    graph = _graph(everywhere=False)
    state: dict[str, int] = {}
    cycles = []

    def visit(node, trail):
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]) if target in trail else target)
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_library_never_imports_the_cli():
    offenders = {name: sorted(t for t in targets if t.startswith("pipeline.cli"))
                 for name, targets in _graph(everywhere=True).items() if not name.startswith("pipeline.cli")}
    assert {name: found for name, found in offenders.items() if found and name != "pipeline.__main__"} == {}


def test_each_stage_has_its_folder():
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert folders == ["batch", "cli", "guidelines", "inputs", "models", "output", "publish"]
    modules = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert modules == ["__init__", "__main__", "errors", "generate", "options", "record", "reproduce"]
