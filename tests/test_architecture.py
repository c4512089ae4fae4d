"""The house's shape (docs/architecture.md): the apps depend on each other in one order, the kernel
and config on none of them, and no module imports itself back through others."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def dependency_order() -> list[str]:
    """The apps from the bottom up, as docs/architecture.md draws them: `core ← accounts ← …`."""
    line = next(line for line in ARCHITECTURE.read_text().splitlines() if line.strip().startswith("core ←"))
    return [name.strip(" `") for name in line.split("←")]


def modules() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("apps/**/*.py"), *ROOT.glob("config/*.py")]:
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Every import between our modules, at module level or inside functions."""
    known = modules()
    graph = {name: set() for name in known}
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[name] |= {target for target in targets if target in known and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def app_of(module: str) -> str | None:
    match = re.match(r"apps\.(\w+)", module)
    return match.group(1) if match else None


def test_every_app_is_placed_in_the_dependency_order():
    apps = {path.name for path in (ROOT / "apps").iterdir() if (path / "apps.py").exists()}
    assert apps == set(dependency_order())


def test_apps_import_only_the_apps_below_them():
    order = dependency_order()
    upward = [
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if app_of(module) and app_of(target) and order.index(app_of(target)) > order.index(app_of(module))
    ]
    assert upward == []


def test_config_and_the_apps_meet_only_in_settings_and_urls():
    crossings = [
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if (module.startswith("config.") and app_of(target) and module != "config.urls")
        or (app_of(module) and target.startswith("config."))
    ]
    assert crossings == []


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a file imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_the_tools_stay_outside_what_ships():
    """devtools/ serves the tests and the benchmarks: nothing shipped imports it or the tests, and the
    benchmarks and the tools import no test."""
    shipped = [*ROOT.glob("apps/**/*.py"), *ROOT.glob("config/*.py")]
    tools = [*ROOT.glob("devtools/**/*.py"), *ROOT.glob("bench/**/*.py")]
    crossings = [
        f"{path.relative_to(ROOT)} -> {package}"
        for paths, forbidden in ((shipped, {"devtools", "tests", "bench"}), (tools, {"tests"}))
        for path in paths
        for package in imported_packages(path) & forbidden
    ]
    assert tools and crossings == []


def test_no_module_imports_itself_back():
    assert cycles(import_graph()) == []


def test_the_check_finds_what_it_looks_for():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert app_of("apps.reports.views") == "reports" and app_of("config.urls") is None
