"""Feature packages form layers without cycles: each imports only the layers below it, never another's views."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "manufacturing"

# Lowest first; packages on one line are peers and do not import each other.
LAYERS = [
    ("core",),
    ("accounts", "audit"),
    ("specifications",),
    ("patients",),
    ("lots", "materials"),
    ("processing",),
    ("quality",),
    ("instruments",),
    ("release",),
    ("dispensing",),
    ("records",),
    ("reports", "api"),
    ("home",),
]
RANK = {package: rank for rank, peers in enumerate(LAYERS) for package in peers}


def _features() -> list[str]:
    return sorted(path.name for path in PACKAGE.iterdir()
                  if (path / "__init__.py").exists() and path.name != "migrations")


def _imported(tree: ast.AST) -> list[str]:
    """Every module an ast imports, with `from package import module` read as the module."""
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return [module for module in modules if module.startswith("manufacturing.")]


def _imports() -> list[tuple[Path, str, str]]:
    """(file, its feature package, imported module) for every import of the package by a feature."""
    found = []
    for feature in _features():
        for path in sorted((PACKAGE / feature).rglob("*.py")):
            found += [(path, feature, module) for module in _imported(ast.parse(path.read_text(), str(path)))]
    return found


def _feature_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (PACKAGE / parts[1]).is_dir() else None


def _is_view(module_name: str) -> bool:
    return module_name == "views" or module_name.endswith("_views")


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {feature: set() for feature in _features()}
    for _, feature, module in _imports():
        target = _feature_of(module)
        if target in edges and target != feature:
            edges[feature].add(target)
    return edges


def test_every_feature_package_has_a_layer():
    assert [feature for feature in _features() if feature not in RANK] == []


def test_no_feature_imports_a_higher_or_peer_layer():
    upward = sorted({f"{path.relative_to(PACKAGE.parent)}: {feature} imports {module}"
                     for path, feature, module in _imports()
                     if (target := _feature_of(module)) in RANK and target != feature
                     and RANK[target] >= RANK.get(feature, len(LAYERS))})
    assert upward == []


def test_no_view_module_imports_another_features_views():
    crossing = sorted({f"{path.relative_to(PACKAGE.parent)} imports {module}" for path, feature, module in _imports()
                       if _is_view(path.stem) and _feature_of(module) not in (None, feature)
                       and _is_view(module.rsplit(".", 1)[-1])})
    assert crossing == []


def _cycle(edges: dict[str, set[str]]) -> list[str]:
    """Return one cycle of the graph (its packages in order), or an empty list."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[node] = "done"
        return []

    for start in sorted(edges):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def test_feature_packages_have_no_import_cycle():
    assert _cycle(_edges()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"lots": {"records"}, "records": {"processing"}, "processing": {"lots"}}) == [
        "lots", "records", "processing", "lots"]
