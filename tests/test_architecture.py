"""The package's shape: data flows one way (no import cycle), nothing imports the CLI,
workers stay light, and the public API is what ``__all__`` says."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import semo_batch

PKG = Path(semo_batch.__file__).parent


def _imports() -> dict[str, set[str]]:
    mods = {}
    for p in PKG.rglob("*.py"):
        rel = p.relative_to(PKG.parent).with_suffix("")
        mods[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = p
    graph: dict[str, set[str]] = {}
    for name, p in mods.items():
        out: set[str] = set()
        is_pkg = p.name == "__init__.py"
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = name.split(".")
                    base = parts[: len(parts) - node.level + (1 if is_pkg else 0)]
                    m = ".".join(base + ([node.module] if node.module else []))
                else:
                    m = node.module or ""
                out |= {m} | {f"{m}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                out |= {a.name for a in node.names}
        graph[name] = {d for d in out if d in mods and d != name and not (mods[d].name == "__init__.py" and name.startswith(d + "."))}
    return graph


def test_no_import_cycle() -> None:
    graph = _imports()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(u: str, stack: list[str]) -> None:
        state[u] = 1
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                cycles.append(stack[stack.index(v):] + [v])
            elif not state.get(v):
                visit(v, stack + [v])
        state[u] = 2

    for m in sorted(graph):
        if not state.get(m):
            visit(m, [m])
    assert cycles == []


def test_nothing_imports_the_cli() -> None:
    graph = _imports()
    assert [m for m, deps in graph.items() if "semo_batch.cli" in deps and m != "semo_batch.__main__"] == []


def test_workers_and_the_package_import_light() -> None:
    code = (
        "import sys, semo_batch, semo_batch.workers, semo_batch.options, semo_batch.choices\n"
        "print(sorted(m for m in ('polars', 'sklearn', 'tensorflow', 'librosa', 'matplotlib', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_api_resolves() -> None:
    for name in semo_batch.__all__:
        assert getattr(semo_batch, name) is not None, name
