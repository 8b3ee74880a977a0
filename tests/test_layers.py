"""No import circle anywhere in sotlog, and the layers of docs/architecture.md hold.

Every import counts: at the top of a file, inside a function, under ``TYPE_CHECKING``. A
function-local import is for a slow dependency, never a way to hide a circle.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("firmware_bridge", "sensing", "dashboard")


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(
                        child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    circles.append(sorted(group))
    return circles


def test_the_finder_finds_a_circle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert import_circles(graph) == [["p.a", "p.b", "p.c"]]


def test_no_module_imports_itself_around_a_circle() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    circles = import_circles(graph)
    lines = []
    for group in circles:
        for a in group:
            for b in group:
                if graph.direct_import_exists(importer=a, imported=b):
                    where = [d["line_number"] for d in graph.get_import_details(importer=a,
                                                                                 imported=b)]
                    lines.append(f"{a} -> {b} (line {', '.join(map(str, where))})")
    assert not circles, "import circles:\n" + "\n".join(lines)


def test_the_layer_contracts_hold() -> None:
    """pyproject.toml's [tool.importlinter] contracts, checked by import-linter itself."""
    lint = Path(sys.executable).parent / "lint-imports"  # import-linter, in the test extras
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert "Contracts:" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
