"""The import graph of bot/: no module imports itself round a cycle (such a cycle works only as long as the imports
happen in one order, and breaks when someone adds a line at the top), and the staff JSON API (bot/web/api.py)
depends on no module that makes HTML pages.

The graph is read from the source with ast: every `import` and `from ... import` anywhere in a module, including
the ones inside functions (an import deferred into a function is still a cycle, only a hidden one), except those
under `if TYPE_CHECKING:` (never run)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "bot"

# What marks a module as one that makes HTML pages: it answers with HTMLResponse, renders Jinja2 templates,
# or renders through the staff pages' renderer.
HTML_MARKERS = {
    "fastapi.responses.HTMLResponse",
    "starlette.responses.HTMLResponse",
    "fastapi.templating",
    "starlette.templating",
    "bot.web.pages",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> Dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            yield from (n for other in child.orelse for n in [other, *_imports(other)])
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        yield from _imports(child)


def imported_names(name: str, path: Path) -> Set[str]:
    """Every dotted name the module imports: `from a.b import c` gives a.b and a.b.c; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    names: Set[str] = set()
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        assert isinstance(node, ast.ImportFrom)
        base = node.module or ""
        if node.level:
            anchor = name.split(".") if is_package else name.split(".")[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        names.add(base)
        names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def resolve(imported: str, known: Dict[str, Path]) -> Optional[str]:
    """The module of ours an imported name loads: itself if it is one of ours, else its nearest package or module."""
    parts = imported.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def import_graph() -> Dict[str, Set[str]]:
    known = modules()
    graph: Dict[str, Set[str]] = {}
    for name, path in known.items():
        targets = {resolve(imported, known) for imported in imported_names(name, path)}
        # a module's own package (bot, bot.web...) is loaded before it anyway: an edge to it is no cycle of ours
        graph[name] = {t for t in targets if t and t != name and not name.startswith(t + ".")}
    return graph


def find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    """One cycle as a path [a, b, ..., a], or None (depth-first search, colouring nodes)."""
    state: Dict[str, int] = {}  # 1 on the current path, 2 finished
    stack: List[str] = []

    def visit(node: str) -> Optional[List[str]]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def reachable(graph: Dict[str, Set[str]], start: str) -> Set[str]:
    seen: Set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def makes_html(path: Path) -> bool:
    name = module_name(path)
    return any(
        imported == marker or imported.startswith(marker + ".")
        for imported in imported_names(name, path)
        for marker in HTML_MARKERS
    )


def test_the_graph_sees_the_imports_it_should() -> None:
    """The reader itself: known edges are found (a module-level one and one inside a function), so an empty graph
    cannot pass the tests below."""
    graph = import_graph()
    assert "bot.web.errors" in graph["bot.web.app"]
    assert "bot.web.pages" in graph["bot.web.errors"]
    assert "bot.store" in graph["bot.web.pages"] or "bot.store.outbox" in graph["bot.web.pages"]
    assert makes_html(ROOT / "bot/web/referrals.py") and makes_html(ROOT / "bot/web/pages.py")
    assert not makes_html(ROOT / "bot/web/exceptions.py")


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_in_bot() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("api", ["bot.web.api"])
def test_the_json_api_imports_no_html_module(api: str) -> None:
    known = modules()
    html = sorted(name for name in reachable(import_graph(), api) if makes_html(known[name]))
    assert html == [], f"{api} depends on modules that make HTML pages: {html}"


def test_no_lazy_name_of_bot_language_is_also_one_of_its_modules() -> None:
    """bot.language hands out its readers lazily by name (`language.yes_no(...)`). A submodule of the same name would
    replace the function on the package as soon as anything imports that submodule, and the call would then fail."""
    import bot.language as language

    submodules = {path.stem for path in (ROOT / "bot" / "language").glob("*.py")}
    assert not submodules & set(language._HOMES), "rename the module: it shadows the reader of the same name"
