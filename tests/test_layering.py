"""The package's imports point down only, and no modules import each other.

Every ``import`` statement of every module of ``sklearn_deepfake`` is read
with :mod:`ast` (imports inside functions and under ``TYPE_CHECKING``
included), and each module is given a layer by where it lives. A module may
import from its own layer or a lower one; an import into a higher layer fails
the test unless it is listed in ``ALLOWED`` with the reason. See the
"layering" section of CONTRIBUTING.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_deepfake"

#: Layers, lowest first. A module belongs to the layer of the longest prefix
#: of its dotted name listed here.
LAYERS: list[tuple[str, ...]] = [
    ("sklearn_deepfake", "sklearn_deepfake.exceptions", "sklearn_deepfake.utils"),
    ("sklearn_deepfake.video", "sklearn_deepfake.datasets"),
    ("sklearn_deepfake.faces",),
    ("sklearn_deepfake.features",),
    (
        "sklearn_deepfake.calibration",
        "sklearn_deepfake.classifiers",
        "sklearn_deepfake.nets",
    ),
    ("sklearn_deepfake.ensemble", "sklearn_deepfake.model_selection"),
    ("sklearn_deepfake.pipeline",),
    (
        "sklearn_deepfake.inspection",
        "sklearn_deepfake.export",
        "sklearn_deepfake.submission",
        # use fitted pipelines: shipped models, prediction under a time budget
        "sklearn_deepfake.pretrained",
        "sklearn_deepfake._budget",
    ),
    ("sklearn_deepfake.cli", "sklearn_deepfake.__main__"),
    # Test helpers build an instance of every estimator, so they sit on top.
    ("sklearn_deepfake.utils._testing",),
]

#: (importing module, imported module) -> why the upward import is fine.
ALLOWED: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the package that ``name`` imports (submodules resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports are banned by ruff, but resolve
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = [
                f"{module}.{alias.name}"
                if f"{module}.{alias.name}" in modules
                else module
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def _layer(name: str) -> int:
    best, level = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), i
    if level < 0:
        raise AssertionError(f"{name} is in no layer: add it to LAYERS")
    return level


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_module_has_a_layer():
    for name in _modules():
        _layer(name)


def test_no_import_points_up():
    upward = []
    for source, targets in _graph().items():
        for target in sorted(targets):
            if _layer(target) > _layer(source) and (source, target) not in ALLOWED:
                upward.append(f"{source} -> {target}")
    assert upward == [], "imports from a higher layer:\n" + "\n".join(upward)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    assert _cycles(_graph()) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_cycle_finder_finds_cycles(graph, expected):
    assert _cycles(graph) == expected


def test_layer_rule_catches_an_upward_import():
    assert _layer("sklearn_deepfake.nets._training") < _layer(
        "sklearn_deepfake.model_selection._tune"
    )
    assert _layer("sklearn_deepfake.utils._testing") > _layer("sklearn_deepfake.cli")
    assert _layer("sklearn_deepfake.utils._ragged") == 0
