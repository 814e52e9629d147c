"""The documentation builds without warnings, and its generated pages are complete."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")
pytest.importorskip("sphinx_gallery")

DOCS = Path(__file__).parent.parent / "docs"
sys.path.insert(0, str(DOCS / "sphinxext"))
skdf_docs = importlib.import_module("skdf_docs")


def test_every_public_subpackage_gets_an_api_page(tmp_path):
    skdf_docs.generate_api(tmp_path)
    pages = {p.name: p.read_text() for p in (tmp_path / "generated" / "api").iterdir()}
    modules = skdf_docs.public_modules()
    assert {"video", "faces", "features", "datasets", "utils"} <= set(modules)
    assert "cli" not in modules
    text = "\n".join(pages.values())
    for name in modules:
        module = importlib.import_module(f"sklearn_deepfake.{name}")
        assert f".. automodule:: sklearn_deepfake.{name}" in text
        for public in module.__all__:
            # listed in an autosummary, or pointed to where it is documented
            assert f"   {public}\n" in text or f"* ``{public}``" in text, public
    # the factories have their subpackage's page; the top-level page points
    # to them as shortcuts
    pipeline_page = next(v for k, v in pages.items() if k.endswith("_pipeline.rst"))
    assert "   make_default_pipeline\n" in pipeline_page
    assert "``make_default_pipeline``" in pages["00_sklearn_deepfake.rst"]


def test_the_message_list_covers_the_warnings_in_the_source():
    package = Path(importlib.import_module("sklearn_deepfake").__file__).parent
    found = skdf_docs.find_messages(package)
    classes = {cls for cls, *_ in found}
    assert {"VideoReadWarning", "NoFaceWarning", "ValueError", "TypeError"} <= classes
    sampling = [f for f in found if f[2].startswith("sklearn_deepfake.video._sampling")]
    assert any(
        cls == "VideoReadWarning" and "Cannot read video {path}" in msg
        for cls, msg, _, how in sampling
        if how == "warn"
    )
    # the test machinery is not part of the user-facing list
    assert not any(".utils._testing" in where for _, _, where, _ in found)


def test_deferred_warnings_are_listed_where_they_are_made():
    import ast

    source = """
def load(path, messages):
    messages.append((NoAudioWarning, f"Video {path!r} has no audio stream."))
    pair = (np.float32, shape)  # not a warning

def replay(messages):
    for category, text in messages:
        warnings.warn(text, category)
"""
    finder = skdf_docs._Finder("pkg.mod")
    finder.visit(ast.parse(source))
    assert finder.found == [
        ("NoAudioWarning", "Video {path} has no audio stream.", "pkg.mod.load", "warn")
    ]


def test_message_templates_keep_the_fields():
    import ast

    tree = ast.parse('f"{path!r}: no face in {n} frames" + " (skipped)"', mode="eval")
    assert skdf_docs._message(tree.body) == "{path}: no face in {n} frames (skipped)"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    """The fast build (examples not run) passes with -W, offline."""
    env = {
        **os.environ,
        "SKDF_DOCS_PLOT_GALLERY": "0",
        "SKDF_DOCS_INTERSPHINX": "0",
        "MPLBACKEND": "Agg",
    }
    out = tmp_path / "html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stderr or done.stdout)[-5000:]
    assert (out / "index.html").exists()
    assert (out / "generated/api/sklearn_deepfake.faces.FaceCropper.html").exists()
    troubleshooting = (out / "troubleshooting.html").read_text(encoding="utf-8")
    for name in importlib.import_module("sklearn_deepfake.exceptions").__all__:
        assert name in troubleshooting
    assert (out / "auto_examples/basics/plot_grouped_cv.html").exists()
    # Methods inherited from the package's own bases are part of a class's
    # API page; scikit-learn's machinery (get_params, set_output) is not.
    api = out / "generated/api"
    for cls, method in [
        ("classifiers.FramewiseClassifier", "predict_proba"),
        ("nets.FaceCNNClassifier", "predict"),
        ("export.ONNXFaceClassifier", "session_"),
        ("inspection.FaceMontageDisplay", "from_estimator"),
    ]:
        page = (api / f"sklearn_deepfake.{cls}.html").read_text(encoding="utf-8")
        assert f'id="sklearn_deepfake.{cls}.{method}"' in page, (cls, method)
        assert f'id="sklearn_deepfake.{cls}.get_params"' not in page
        assert f'id="sklearn_deepfake.{cls}.get_metadata_routing"' not in page


def test_the_benchmarks_page_shows_every_results_file(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "bench_a.json").write_text(
        json.dumps(
            {
                "command": "python benchmarks/bench_a.py --n 3",
                "date": "2026-12-03T05:00:00+00:00",
                "machine": {"cpus": 2, "memory_gib": 23.5, "python": "3.11.7"},
                "versions": {"numpy": "2.4.6"},
                "inputs": {"n_videos": 3, "clips": ["a.mp4", "b.mp4"]},
                "outputs": {"auc": 0.8134, "per_fold": [{"s_per_video": 0.25}]},
            }
        )
    )
    (results / "bench_a.md").write_text(
        "# Speed\n\n| stage | s / video |\n|---|---|\n| extract_all | 0.25 |\n"
    )
    (results / "old_style.json").write_text(
        json.dumps({"machine": {"cpu_count": 2}, "packages": {"av": "18.1.0"}})
    )
    (results / "table_only.md").write_text("- one *item*\n- two\n")
    skdf_docs.generate_benchmarks(tmp_path, results)
    page = (tmp_path / "generated" / "benchmarks.rst.inc").read_text()
    for name in ("bench_a", "old_style", "table_only"):
        assert f".. _bench-{name}:" in page
    assert "``python benchmarks/bench_a.py --n 3``" in page
    assert "cpus 2, memory\\_gib 23.5, python 3.11.7" in page
    assert "numpy 2.4.6" in page
    assert "av 18.1.0" in page
    assert "     - 0.8134" in page
    assert "per\\_fold[0].s\\_per\\_video" in page
    assert "extract\\_all" in page
    assert ".. rubric:: Speed" in page
    assert "* one \\*item\\*" in page


def test_the_benchmarks_page_is_valid_restructuredtext(tmp_path):
    docutils_core = pytest.importorskip("docutils.core")
    skdf_docs.generate_benchmarks(tmp_path)
    page = (tmp_path / "generated" / "benchmarks.rst.inc").read_text()
    # the labels are Sphinx's; docutils alone reads them as plain targets
    docutils_core.publish_doctree(
        page, settings_overrides={"halt_level": 2, "report_level": 2}
    )


def test_markdown_tables_keep_escaped_pipes_in_their_cell():
    rst = skdf_docs.markdown_to_rst("| a | b |\n|---|---|\n| x \\| y | z |\n")
    assert rst[4:8] == ["   * - a", "     - b", "   * - x \\| y", "     - z"]
