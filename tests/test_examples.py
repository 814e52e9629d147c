"""Every gallery example runs to the end (offline, on synthetic videos)."""

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent / "examples"
EXAMPLES = sorted(ROOT.rglob("plot_*.py"))

# optional packages an example needs, by top-level import name
_OPTIONAL = {"distributed", "dask", "optuna", "onnx", "onnxruntime", "librosa"}


def _missing_imports(script):
    """Optional top-level packages ``script`` imports that are not installed."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return sorted(n for n in names & _OPTIONAL if importlib.util.find_spec(n) is None)


def test_the_examples_are_found():
    assert len(EXAMPLES) >= 2
    assert all(p.parent != ROOT for p in EXAMPLES)  # each in a topic folder


@pytest.mark.parametrize(
    "folder", sorted({p.parent for p in EXAMPLES}), ids=lambda p: p.name
)
def test_each_gallery_folder_has_a_readme(folder):
    # sphinx-gallery stops on a folder without README.txt (or README.rst)
    assert (folder / "README.txt").exists() or (folder / "README.rst").exists()
    assert (ROOT / "README.txt").exists()


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_each_example_starts_with_a_titled_docstring(script):
    doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert doc, f"{script.name} has no module docstring"
    lines = [line for line in doc.splitlines() if line.strip()]
    # a title underlined (and optionally overlined) with "="
    assert any(set(line.strip()) == {"="} for line in lines[:3]), script.name


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    missing = _missing_imports(script)
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    env = {**os.environ, "MPLBACKEND": "Agg", "TMPDIR": str(tmp_path)}
    for name in ("SKDF_DFDC_ROOT",):  # always the synthetic data in tests
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
