"""The project's imports run one way (DESIGN.md "Layout and layers"): accounts ← labeling ← generation, quality ←
exports ← api, with the project package corral/ above all, and no module imports itself back through others.

Read from the source with ``ast``: every import counts, inside a function too (an import moved into a function to
dodge a cycle is still a cycle).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# An app may import apps of a lower layer only; apps of one layer never import each other.
LAYERS = {"accounts": 0, "labeling": 1, "generation": 2, "quality": 2, "exports": 3, "api": 4, "corral": 5}


def project_modules() -> dict[str, Path]:
    modules = {}
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")) if (ROOT / app).is_dir() else []:
            relative = path.relative_to(ROOT).with_suffix("")
            if "migrations" in relative.parts:
                continue
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            modules[".".join(parts)] = path
    return modules


def imported_modules(path: Path, module: str, known: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports anywhere in its source."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            # "from a.b import c" names module a.b.c when that is a module, else something inside a.b.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    known = project_modules()
    return {module: imported_modules(path, module, known) for module, path in known.items()}


def app_of(module: str) -> str:
    return module.split(".")[0]


def test_the_graph_sees_the_projects_modules_and_their_imports():
    graph = import_graph()
    assert "labeling.votes" in graph and "labeling.models" in graph["labeling.votes"]
    assert "corral.urls" in graph and "accounts.views" in graph["corral.urls"]


def test_no_app_imports_an_app_of_its_own_or_a_higher_layer():
    wrong = sorted(
        f"{module} imports {imported}"
        for module, imports in import_graph().items()
        for imported in imports
        if app_of(imported) != app_of(module) and LAYERS[app_of(imported)] >= LAYERS[app_of(module)]
    )
    assert wrong == []


def test_no_module_imports_itself_back_through_others():
    graph = import_graph()
    cycles = []
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                cycles.append(" → ".join(path[path.index(imported) :] + [imported]))
            elif imported not in state:
                visit(imported)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []
