"""The figure audit finds orphans, accepts backed figures; the repo has no orphan."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "audit_figures", REPO / "benchmarks" / "audit_figures.py"
)
audit_figures = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("audit_figures", audit_figures)
_spec.loader.exec_module(audit_figures)

POOL = audit_figures.Pool(
    numbers={
        "bench_x.json": [0.8134, 0.5531, 0.9962, 0.0013, 4.81e6],
        "bench_x.md": [],
        "bench_y.json": [0.70],
    },
    commands={"bench_x.json": "python benchmarks/bench_x.py", "bench_y.json": ""},
    metric={"bench_x.json": [0.8134, 0.5531], "bench_y.json": [0.70]},
)


def _audit(text, allow=()):
    figures = audit_figures.find_figures(text, "t.rst")
    return audit_figures.audit(figures, POOL, list(allow), REPO)


def _status(figures):
    return {f.text: f.status for f in figures}


def test_repository_has_no_orphan_figures():
    figures = audit_figures.audit(
        audit_figures.collect(REPO),
        audit_figures.load_pool(audit_figures.RESULTS),
        audit_figures.read_allow(audit_figures.ALLOW),
        REPO,
    )
    assert len(figures) > 20  # the sources were read
    orphans = [f for f in figures if f.status == "orphan"]
    assert not orphans, "\n" + audit_figures.table(figures)


def test_a_figure_that_names_nothing_is_an_orphan():
    figures = _audit("The recipe reaches an AUC of 0.81 on real swaps.")
    assert _status(figures) == {"0.81": "orphan"}
    assert "t.rst:1 | 0.81 |" in audit_figures.table(figures)


def test_a_figure_beside_its_command_is_backed_at_the_shown_precision():
    text = (
        "The recipe reaches an AUC of 0.81 and a log loss of 0.553, finds faces\n"
        "on 99.6% of the frames, keys a file in 1.3 ms and stores 4.8 MB per\n"
        "video (``benchmarks/bench_x.py``)."
    )
    figures = _audit(text)
    assert _status(figures) == {
        "0.81": "backed",
        "0.553": "backed",
        "99.6%": "backed",
        "1.3 ms": "backed",
        "4.8 MB": "backed",
    }
    assert {f.backed_by for f in figures} == {"bench_x.json"}
    assert [f.line for f in figures] == [1, 1, 2, 2, 2]


@pytest.mark.parametrize(
    "text",
    [
        # a number its named results do not hold
        "An AUC of 0.82 (``benchmarks/bench_x.py``).",
        # named results that hold it, but the sentence names another script
        "An AUC of 0.70 (``benchmarks/bench_x.py``).",
        # a script that writes no results backs nothing
        "An AUC of 0.81 (``benchmarks/bench_nothing.py``).",
        # an AUC is not backed by a number stored as a time (0.0013 s)
        "An AUC of 0.0013 (``benchmarks/bench_x.py``).",
    ],
)
def test_a_figure_its_named_results_do_not_hold_is_an_orphan(text):
    assert set(_status(_audit(text)).values()) == {"orphan"}


def test_a_named_results_file_backs_its_figures():
    assert _status(_audit("AUC 0.70 (benchmarks/results/bench_y.json).")) == {
        "0.70": "backed"
    }


def test_the_section_names_the_source_when_the_paragraph_does_not():
    text = (
        "Store formats\n-------------\n\n"
        "Measured by ``benchmarks/bench_x.py``.\n\n"
        "* raw: 4.8 MB per video\n* jpeg: 9.9 MB per video\n\n"
        "Other\n-----\n\nIt takes 4.8 MB.\n"
    )
    figures = _audit(text)
    assert [(f.text, f.line, f.status) for f in figures] == [
        ("4.8 MB", 6, "backed"),
        ("9.9 MB", 7, "orphan"),
        ("4.8 MB", 12, "orphan"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Crops are 224 px wide, sampled at 30 fps.",
        "Use ``FrameSampler(n_frames=32)`` and ``timeout=30 s``.",
        "A 150 x 150 chip and a 7 x 7 convolution.",
        "Calibrated: among videos given P(FAKE) = 0.8 about half are fake.",
        "Version 2.14.1 of torch on 8,000 videos.",
        "Log loss example::\n\n    auc = 0.93  # 5 s\n\nDone.",
        ".. code-block:: python\n\n    x = 0.5  # 10 %\n",
        ">>> round(0.8134, 2)\n0.81",
        "The AUC is computed by scikit-learn. Then 0.5 is a prior.",
    ],
)
def test_settings_code_and_shapes_are_not_figures(text):
    assert audit_figures.find_figures(text, "t.rst") == []


def test_prose_inside_a_directive_is_read():
    text = ".. note::\n\n   It takes 3 s per clip.\n"
    assert [f.text for f in audit_figures.find_figures(text, "t.rst")] == ["3 s"]


def test_ranges_give_two_figures():
    figures = audit_figures.find_figures("Wheels of 17-23 MB each.", "README.md")
    assert [(f.text, f.value) for f in figures] == [("17 MB", 17.0), ("23 MB", 23.0)]


def test_the_allow_list_needs_a_reason(tmp_path):
    path = tmp_path / "allow.txt"
    path.write_text("# comment\n3 minutes | Optuna's heartbeat, a setting\n")
    assert audit_figures.read_allow(path) == [
        ("3 minutes", "Optuna's heartbeat, a setting")
    ]
    path.write_text("3 minutes\n")
    with pytest.raises(ValueError, match=r"allow.txt:1: expected 'TEXT \| REASON'"):
        audit_figures.read_allow(path)


def test_an_allowed_setting_is_not_an_orphan():
    allow = [("after 3 minutes", "Optuna's heartbeat, a setting")]
    figures = _audit(
        "A trial is marked failed after 3 minutes; it took 4 minutes.", allow
    )
    assert _status(figures) == {"3 minutes": "allowed", "4 minutes": "orphan"}


def test_docstring_examples_and_parameter_lines_are_skipped():
    doc = (
        "Summary takes 2 s.\n\n"
        "Parameters\n----------\n"
        "eps : float, default=0.01\n    Clip to ``[eps, 1 - eps]``.\n\n"
        "Examples\n--------\n>>> 1\n1\n"
        "Notes\n-----\nIt uses 3 MB.\n"
    )
    cleaned = audit_figures._drop_examples(doc)
    assert cleaned.count("\n") == doc.count("\n")  # line numbers kept
    figures = audit_figures.find_figures(cleaned, "m.py", first_line=10)
    assert [(f.text, f.line) for f in figures] == [("2 s", 10), ("3 MB", 23)]


def test_the_command_line_help_is_walked():
    texts = dict(audit_figures.cli_help_texts())
    assert any(where.startswith("sklearn-deepfake fit") for where in texts)
    assert len(texts) > 20


def test_results_files_give_their_outputs_and_tables(tmp_path):
    (tmp_path / "bench_z.json").write_text(
        json.dumps(
            {
                "command": "python benchmarks/bench_z.py",
                "inputs": {"n": 123.0},
                "outputs": {"auc": 0.8134, "note": "peak 1,274 MB"},
            }
        )
    )
    (tmp_path / "bench_z.md").write_text("| auc |\n|---|\n| 0.81 |\n")
    (tmp_path / "audit_figures.json").write_text(json.dumps({"outputs": [0.99]}))
    pool = audit_figures.load_pool(tmp_path)
    assert sorted(pool.numbers) == ["bench_z.json", "bench_z.md"]
    assert pool.numbers["bench_z.json"] == [0.8134, 1274.0]  # inputs left out
    assert pool.metric["bench_z.json"] == [0.8134]  # stored under "auc"
    assert 0.81 in pool.numbers["bench_z.md"]
    assert pool.metric["bench_z.md"] == [0.81]  # the "auc" column


def test_pending_lasts_only_while_the_named_results_are_missing():
    allow = [("AUC of 0.81", "pending results from another branch")]
    waiting = _audit("An AUC of 0.81 (``benchmarks/bench_later.py``).", allow)
    assert _status(waiting) == {"0.81": "pending"}
    # the named results exist: checked like any other figure
    held = _audit("An AUC of 0.81 (``benchmarks/bench_x.py``).", allow)
    assert _status(held) == {"0.81": "backed"}
    allow = [("AUC of 0.83", "pending results from another branch")]
    missing = _audit("An AUC of 0.83 (``benchmarks/bench_x.py``).", allow)
    assert _status(missing) == {"0.83": "orphan"}
