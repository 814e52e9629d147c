"""README's layout and CONTRIBUTING.md name files and objects that exist.

Issue 21 asked for a layout that a newcomer can read and that stays true:
every path and every ``folder/_module.Name`` that the two documents write in
backticks is checked here against the code, so a rename or a move that
forgets them fails.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "CONTRIBUTING.md")
#: Folders a relative path in the documents may start from.
BASES = (ROOT, ROOT / "sklearn_deepfake", ROOT / "benchmarks")


def _backticked(pattern: str) -> list[tuple[str, str]]:
    found = []
    for name in DOCUMENTS:
        text = (ROOT / name).read_text(encoding="utf-8")
        found += [(name, m) for m in re.findall(pattern, text)]
    return sorted(set(found))


PATHS = [
    (doc, path)
    for doc, path in _backticked(r"`([\w./-]+\.py)`")
    if "<" not in path and path not in {"_name.py"}
]
OBJECTS = [
    (doc, found)
    for doc, found in _backticked(
        r"`((?:sklearn_deepfake/)?(?:\w+/)+_\w+)\.([A-Za-z]\w*)`"
    )
    if found[1] != "py"
]


#: "`NAME` in `path.py`" (also "from" and "of"): NAME is defined in that file.
DEFINED_IN = [
    (doc, name, path)
    for doc, (name, path) in _backticked(r"`(\w+)`,? (?:in|from|of) `([\w/]+\.py)`")
]


def test_the_documents_name_paths_and_objects():
    # the patterns must keep finding what they check
    assert len(PATHS) > 20
    assert len(OBJECTS) >= 4
    assert len(DEFINED_IN) >= 5


@pytest.mark.parametrize(("document", "name", "path"), DEFINED_IN)
def test_named_definition_is_in_the_named_file(document, name, path):
    files = [base / path for base in BASES if (base / path).is_file()]
    assert files, f"{document} names `{path}`, which is not a file."
    text = files[0].read_text(encoding="utf-8")
    defined = re.search(
        rf"^\s*(?:def|class)\s+{name}\b|^{name}\s*[:=]", text, flags=re.M
    )
    assert defined, f"{document}: `{name}` is not defined in `{path}`."


@pytest.mark.parametrize(("document", "path"), PATHS)
def test_named_path_exists(document, path):
    assert any((base / path).is_file() for base in BASES), (
        f"{document} names `{path}`, which is not a file of the repository."
    )


@pytest.mark.parametrize(
    ("document", "module", "name"), [(doc, mod, name) for doc, (mod, name) in OBJECTS]
)
def test_named_object_exists(document, module, name):
    dotted = module.removeprefix("sklearn_deepfake/").replace("/", ".")
    mod = importlib.import_module(f"sklearn_deepfake.{dotted}")
    assert hasattr(mod, name), f"{document} names `{module}.{name}`: not found."


def test_every_subcommand_declares_what_contributing_says():
    from sklearn_deepfake.cli._main import _COMMANDS

    for module in _COMMANDS:
        for name in ("NAME", "HELP", "DESCRIPTION", "add_arguments", "run"):
            assert hasattr(module, name), (module.__name__, name)


def test_the_layers_listed_are_those_of_the_layering_test():
    from test_layering import LAYERS

    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    for layer in LAYERS:
        for module in layer:
            if module == "sklearn_deepfake":
                continue  # the package root, named in words
            rel = module.removeprefix("sklearn_deepfake.").replace(".", "/")
            assert f"`{rel}/`" in section or f"`{rel}.py`" in section, rel
