"""No import circles in the package (STYLE.md item 17, issue 25 item 5).

Reads every module under ``openledger_chain/`` with :mod:`ast` (no import is executed) and collects every
import statement in it: at module level, inside functions (the lazy imports that hide a circle from a
plain ``import``) and under ``if TYPE_CHECKING:``. An edge goes from a module to each package module it
names (``from a.b import c`` names the module ``a.b.c`` when there is one, else ``a.b``; relative imports
are resolved). Importing a module also runs its parent packages' ``__init__``; those implicit edges are
left out, as import-linter leaves them out, or every package that re-exports its modules would be a
circle. Any cycle of two or more modules fails the test, printed edge by edge with file and line.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "openledger_chain"

#: module -> {imported module: line of the first import of it}
Graph = dict[str, dict[str, int]]


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> tuple[Graph, dict[str, Path]]:
    """Every import, however deeply nested, of every module of the package at `root`, as a graph of modules."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: Graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(parent + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:  # `import a.b.c` of a name inside a.b: the module a.b
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.setdefault(target, node.lineno)
        graph[name] = edges
    return graph, files


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module, each sorted (iterative: no recursion
    limit however deep the graph)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def shortest_cycle(graph: Graph, component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, staying inside the component."""
    members, start = set(component), component[0]
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt in members and nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # cannot happen in a strongly connected component


def describe_cycles(root: Path) -> list[str]:
    graph, files = import_graph(root)
    described = []
    for component in strongly_connected(graph):
        cycle = shortest_cycle(graph, component)
        steps = "\n".join(f"    {a} -> {b}  ({files[a].relative_to(root.parent)}:{graph[a][b]})"
                          for a, b in zip(cycle, cycle[1:]))
        others = sorted(set(component) - set(cycle))
        described.append(f"  {' -> '.join(cycle)}\n{steps}"
                         + (f"\n    (same circle, through more modules: {', '.join(others)})" if others else ""))
    return described


def test_the_package_has_no_import_cycle() -> None:
    cycles = describe_cycles(PACKAGE_ROOT)
    assert not cycles, ("import circles between modules of openledger_chain (make the dependency point one way and "
                        "hand the other side what it needs, STYLE.md item 17):\n" + "\n".join(cycles))


@pytest.mark.parametrize(("module", "must_not_import"), [
    # The oracle, claims and views are handed an EventSource; the index is one, built by the CLI.
    ("openledger_chain.history", "openledger_chain.indexer"),
    ("openledger_chain.sources", "openledger_chain.indexer"),
    ("openledger_chain.views", "openledger_chain.indexer"),
    ("openledger_chain.claims", "openledger_chain.indexer"),
    ("openledger_chain.oracle", "openledger_chain.indexer"),
    # The valuations and the Dask backend share attribution.kernel; only the backend knows Dask.
    ("openledger_chain.attribution.kernel", "openledger_chain.attribution.distributed"),
    ("openledger_chain.attribution.methods", "openledger_chain.attribution.distributed"),
])
def test_the_two_former_circles_point_one_way(module: str, must_not_import: str) -> None:
    graph, _ = import_graph(PACKAGE_ROOT)
    offenders = {f"{source} -> {target} (line {line})" for source, edges in graph.items()
                 if source == module or source.startswith(module + ".")
                 for target, line in edges.items()
                 if target == must_not_import or target.startswith(must_not_import + ".")}
    assert not offenders, sorted(offenders)


def test_a_lazy_relative_circle_is_found_and_printed(tmp_path: Path) -> None:
    """The check itself: an import inside a function, written relatively, closes a circle of three."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from pkg.sub.b import thing\n")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("import pkg.c\nthing = 1\n")
    (package / "c.py").write_text("def f():\n    from .a import x\n    return x\n")
    (package / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")

    cycles = describe_cycles(package)

    assert len(cycles) == 1
    assert cycles[0].splitlines()[0].strip() == "pkg.a -> pkg.sub.b -> pkg.c -> pkg.a"
    assert "pkg.c -> pkg.a  (pkg/c.py:2)" in cycles[0]
    (package / "c.py").write_text("def f():\n    return 1\n")
    assert describe_cycles(package) == []
