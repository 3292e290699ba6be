"""The engine's import graph, read from the source with ``ast`` (nothing is imported).

(a) No module under common/ imports ``simulation``, ``benchmarks`` or a tier package
    (the ``onetrip.tiers`` entry points in pyproject.toml), at any depth: module level,
    inside functions, or by name through ``import_module`` (a dotted-name string).
(b) The modules of common/ import one another without a cycle. Only module-level
    imports count here (including those under a module-level ``if``/``try``, but not
    ``if TYPE_CHECKING:``): an import inside a function runs when it is called, after
    every module has loaded, so it cannot close a circle at import time.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENGINE = REPO / "common"


def _tier_packages() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    tiers = project["project"]["entry-points"]["onetrip.tiers"]
    return {value.split(":")[0].split(".")[0] for value in tiers.values()}


FORBIDDEN = {"simulation", "benchmarks"} | _tier_packages()


def _engine_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(ENGINE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _engine_modules()


def _imported_names(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement loads (``from a import b`` may load ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return []


def _module_level_imports(tree: ast.Module) -> list[ast.stmt]:
    found: list[ast.stmt] = []

    def walk(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                found.append(statement)
            elif isinstance(statement, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(statement.test):
                    walk(statement.body)
                walk(statement.orelse)
            elif isinstance(statement, ast.Try):
                for block in (statement.body, statement.orelse, statement.finalbody):
                    walk(block)
                for handler in statement.handlers:
                    walk(handler.body)
            elif isinstance(statement, ast.With):
                walk(statement.body)

    walk(tree.body)
    return found


def _engine_module_of(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = set()
        for statement in _module_level_imports(tree):
            for name in _imported_names(statement, module, path.name == "__init__.py"):
                target = _engine_module_of(name)
                if target is not None and target != module:
                    targets.add(target)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_tier_packages_are_known():
    assert {"county_node", "township_node", "village_node"} <= FORBIDDEN


def test_the_engine_never_imports_simulation_benchmarks_or_a_tier():
    dotted = re.compile(rf"^({'|'.join(sorted(FORBIDDEN))})(\.\w+)*$")
    offences = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = _imported_names(node, module, path.name == "__init__.py")
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value]
            for name in names:
                if dotted.match(name):
                    offences.append(f"{path.relative_to(REPO)}:{node.lineno}: {name}")
    assert not offences, "common/ must not import these:\n" + "\n".join(offences)


def test_no_import_cycles_among_engine_modules():
    graph = _graph()
    assert "common.cases.projection" in graph and "common.app" in graph  # the walk found the engine
    cycles = _cycles(graph)
    described = [
        "\n".join(f"  {m} -> {sorted(t for t in graph[m] if t in cycle)}" for m in cycle)
        for cycle in cycles
    ]
    assert not cycles, "import cycles among common/ modules:\n" + "\n\n".join(described)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
