import contextlib
import csv
import dataclasses
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pytest

from sklearn_deepfake import __version__
from sklearn_deepfake.cli import _demo, _fit, _options, main
from sklearn_deepfake.cli._utils import (
    UsageError,
    atomic_dump,
    calibration_cv,
    check_params,
    default_cache_dir,
    find_videos,
    parse_set,
    predict_in_chunks,
)
from sklearn_deepfake.faces import FaceStore

REPO_ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------
# parser, exit codes, help
# ---------------------------------------------------------------------------


def test_cli_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: sklearn-deepfake" in out
    for command in ("demo", "extract", "fit", "predict"):
        assert command in out


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("demo", ["--dir", "--n-jobs", "--keep", "--n-originals", "--device"]),
        (
            "extract",
            ["--cache", "--no-cache", "--n-frames", "--size", "--set", "--scheduler"],
        ),
        ("fit", ["--output", "--cv", "--features", "--set", "--n-jobs", "--device"]),
        (
            "predict",
            [
                "--output",
                "--sample-submission",
                "--fallback",
                "--no-cache",
                "--scheduler",
            ],
        ),
    ],
)
def test_cli_command_help_lists_options(command, options, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    for option in options:
        assert option in out


def test_cli_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sklearn-deepfake {__version__}"


def test_cli_without_command_is_usage_error(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "a COMMAND is required" in err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["nonsense"], "invalid choice"),
        (["demo", "--n-jobs", "0"], "must not be 0"),
        (["demo", "--n-jobs", "two"], "expected an integer"),
        (["demo", "--n-originals", "1"], "at least 2"),
        (["demo", "--bogus"], "unrecognized arguments"),
        (["fit", "data"], "--output"),
        (["fit", "data", "-o", "m", "--cv", "-1"], "at least 0"),
        (["fit", "data", "-o", "m", "--features", "pixels"], "invalid choice"),
        (["predict", "m.joblib", "v", "-o", "s.csv", "--fallback", "2"], "[0, 1]"),
        (["extract"], "required"),
        (["extract", "v.mp4", "--cache", "c", "--no-cache"], "not allowed with"),
    ],
)
def test_cli_bad_arguments_exit_2(argv, match, capsys):
    assert main(argv) == 2
    assert match in capsys.readouterr().err


def _choices(command, option):
    from sklearn_deepfake.cli._main import _build_parser

    sub = next(a for a in _build_parser()._actions if a.dest == "command")
    parser = sub.choices[command]
    return next(a for a in parser._actions if option in a.option_strings).choices


@pytest.mark.parametrize("command", ["fit", "tune"])
def test_cli_feature_choices_match_pipeline(command):
    from sklearn_deepfake.pipeline._pipeline import FEATURE_SETS

    assert tuple(_choices(command, "--features")) == FEATURE_SETS


@pytest.mark.parametrize("command", ["extract", "fit", "tune"])
def test_cli_presets_match_the_library(command):
    from sklearn_deepfake.pipeline._pipeline import PRESETS

    assert tuple(_choices(command, "--preset")) == PRESETS


def test_cli_failure_is_one_line_exit_1(tmp_path, capsys):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    assert main(["demo", "--dir", str(not_a_folder)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("sklearn-deepfake demo: error:")
    assert "file.txt" in err


def test_cli_failure_in_a_step_is_reported(monkeypatch, tmp_path, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full\nwhile writing")

    monkeypatch.setattr(_demo, "_run_demo", broken)
    assert main(["demo", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == "sklearn-deepfake demo: error: disk full while writing\n"

    assert main(["--traceback", "demo", "--dir", str(tmp_path)]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_cli_temporary_folder_removed_unless_kept(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(_demo, "_run_demo", lambda root, **kw: seen.append(root))
    assert main(["demo"]) == 0
    assert not os.path.exists(seen[-1])
    assert main(["demo", "--keep"]) == 0
    assert os.path.isdir(seen[-1])
    assert seen[-1] in capsys.readouterr().out
    os.rmdir(seen[-1])


def test_cli_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_deepfake", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: sklearn-deepfake" in result.stdout


def test_cli_help_does_not_import_torch():
    code = (
        "import sys, contextlib, io\n"
        "from sklearn_deepfake.cli import main\n"
        "for cmd in ('demo', 'extract', 'fit', 'predict'):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        main([cmd, '--help'])\n"
        "print(sorted(m for m in ('torch', 'cv2', 'av') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------------
# --set
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("classifier__eps=0.02", 0.02),
        ("facecropper__size=32", 32),
        ("facecropper__max_size=None", None),
        ("facecropper__thresholds=(0.5, 0.6, 0.7)", (0.5, 0.6, 0.7)),
        ("features__backbone=resnet18", "resnet18"),
        ("features__backbone='resnet18'", "resnet18"),
        ("facecropper__detect_scale=auto", "auto"),
        ("memory=/tmp/a=b", "/tmp/a=b"),
        ("classifier__estimator__method = isotonic", "isotonic"),
    ],
)
def test_cli_parse_set_values(item, expected):
    name = item.partition("=")[0].strip()
    assert parse_set([item]) == {name: expected}


def test_cli_parse_set_later_wins_and_rejects_missing_equals():
    assert parse_set(["a__b=1", "a__b=2"]) == {"a__b": 2}
    with pytest.raises(UsageError, match="expects step__param=value"):
        parse_set(["video.mp4"])
    with pytest.raises(UsageError, match="expects step__param=value"):
        parse_set(["=3"])


def test_cli_check_params_names_the_valid_prefix():
    from sklearn_deepfake.pipeline._pipeline import make_default_pipeline

    pipe = make_default_pipeline()
    check_params(pipe, {"facecropper__size": 32, "classifier__estimator__C": 2})
    calibrated = make_default_pipeline(calibration="sigmoid")
    check_params(calibrated, {"classifier__estimator__cv": 2})
    with pytest.raises(UsageError, match="valid names under 'facecropper__'") as exc:
        check_params(pipe, {"facecropper__sizee": 32})
    assert "facecropper__size," in str(exc.value)
    assert "classifier__" not in str(exc.value)
    with pytest.raises(UsageError, match=r"start with one of: .*facecropper__"):
        check_params(pipe, {"cropper__size": 32})


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ("facecropper__sizee=32", "valid names under 'facecropper__'"),
        ("bogus__x=1", "valid names start with one of"),
        ("nothing", "expects step__param=value"),
    ],
)
@pytest.mark.parametrize("command", ["fit", "extract"])
def test_cli_bad_set_exits_2(command, item, match, tmp_path, capsys):
    argv = [command, str(tmp_path)]
    if command == "fit":
        argv += ["-o", str(tmp_path / "m.joblib")]
    assert main([*argv, "--set", item]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sklearn-deepfake {command}: error: ")
    assert match in err
    assert not (tmp_path / "m.joblib").exists()


# ---------------------------------------------------------------------------
# helpers: cache folder, atomic save, inputs, calibration folds, chunks
# ---------------------------------------------------------------------------


def test_cli_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SKLEARN_DEEPFAKE_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == str(tmp_path / "c")
    monkeypatch.delenv("SKLEARN_DEEPFAKE_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == str(tmp_path / ".cache/sklearn-deepfake/faces")


def test_cli_atomic_dump_leaves_no_partial_file(monkeypatch, tmp_path):
    path = tmp_path / "model.joblib"

    def failing_dump(obj, fh):
        fh.write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", failing_dump)
    with pytest.raises(OSError, match="disk full"):
        atomic_dump({"a": 1}, path)
    assert os.listdir(tmp_path) == []  # neither the model nor a temporary file

    monkeypatch.undo()
    atomic_dump({"a": 1}, path)
    monkeypatch.setattr(joblib, "dump", failing_dump)
    with pytest.raises(OSError, match="disk full"):
        atomic_dump({"a": 2}, path)
    assert os.listdir(tmp_path) == ["model.joblib"]
    assert joblib.load(path) == {"a": 1}  # the previous model is intact


def test_cli_fit_save_failure_leaves_no_model(monkeypatch, tmp_path, capsys):
    class _Pipe:
        def fit(self, X, y):
            return self

    data = tmp_path / "data"
    for label in ("real", "fake"):
        (data / label).mkdir(parents=True)
        for i in range(2):
            (data / label / f"v{i}.mp4").write_bytes(b"x")
    monkeypatch.setattr(_options, "_build_pipeline", lambda args, cache: _Pipe())
    monkeypatch.setattr(_fit, "_set_calibration_cv", lambda *a: "2")

    def failing_dump(obj, fh):
        fh.write(b"partial")
        raise OSError("no space left on device")

    monkeypatch.setattr(joblib, "dump", failing_dump)
    model = tmp_path / "out" / "model.joblib"
    argv = ["fit", str(data), "-o", str(model), "--cv", "0", "--no-cache"]
    assert main(argv) == 1
    assert "no space left on device" in capsys.readouterr().err
    assert os.listdir(model.parent) == []


def test_cli_find_videos(tmp_path):
    (tmp_path / "a" / "sub").mkdir(parents=True)
    (tmp_path / "a" / ".hidden").mkdir()
    for name in ("a/x.mp4", "a/sub/y.MOV", "a/notes.txt", "a/.hidden/z.mp4"):
        (tmp_path / name).write_bytes(b"")
    got = find_videos([str(tmp_path / "a"), str(tmp_path / "a" / "x.mp4")])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert got == [str(tmp_path / "a/sub/y.MOV"), str(tmp_path / "a/x.mp4")]
    with pytest.raises(FileNotFoundError, match="1 input"):
        find_videos([str(tmp_path / "missing.mp4")])
    with pytest.raises(FileNotFoundError, match="no video"):
        find_videos([str(empty)])


def test_cli_find_videos_dfdc_root(tmp_path):
    train, test = tmp_path / "train_sample_videos", tmp_path / "test_videos"
    train.mkdir()
    test.mkdir()
    (train / "metadata.json").write_text("{}")
    (train / "a.mp4").write_bytes(b"")
    (test / "b.mp4").write_bytes(b"")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "c.mp4").write_bytes(b"")
    assert find_videos([str(tmp_path)]) == [str(train / "a.mp4"), str(test / "b.mp4")]


def test_cli_calibration_cv():
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    assert calibration_cv(y, [np.arange(7)], 5) == 3
    assert calibration_cv(y, [np.arange(7), np.array([0, 1, 3, 4])], 5) == 2
    with pytest.raises(ValueError, match="fewer than 2 videos"):
        calibration_cv(y, [np.array([0, 3, 4])], 5)


class _SizeModel:
    """P(FAKE) from the file size; raises for any batch with a 'bad' file."""

    classes_ = np.array([0, 1])

    def __init__(self):
        self.calls = []

    def predict_proba(self, paths):
        self.calls.append(len(paths))
        if any("bad" in os.path.basename(p) for p in paths):
            raise ValueError("cannot read\nthis file")
        p = np.array([os.path.getsize(x) / 100.0 for x in paths])
        if any("nan" in os.path.basename(x) for x in paths):
            p[:] = np.nan
        return np.column_stack([1 - p, p])


def test_cli_predict_in_chunks_retries_one_by_one(tmp_path, capsys):
    paths = []
    for i in range(5):
        name = "bad.mp4" if i == 3 else f"v{i}.mp4"
        (tmp_path / name).write_bytes(b"x" * (10 * i + 5))
        paths.append(str(tmp_path / name))
    model = _SizeModel()
    proba, failed = predict_in_chunks(model, paths, chunk_size=2)
    np.testing.assert_allclose(proba[[0, 1, 2, 4]], [0.05, 0.15, 0.25, 0.45])
    assert np.isnan(proba[3])
    assert failed == {paths[3]: "cannot read this file"}
    assert model.calls == [2, 2, 1, 1, 1]  # chunk [2, 3] retried one by one
    assert "retrying one by one" in capsys.readouterr().err


def test_cli_predict_fallbacks_without_mtcnn(tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name, size in [("a.mp4", 20), ("bad.mp4", 30), ("nan.mp4", 40)]:
        (videos / name).write_bytes(b"x" * size)
    (videos / "unlisted.mp4").write_bytes(b"x")
    (videos / "sample_submission.csv").write_text(
        "filename,label\nnan.mp4,0.5\na.mp4,0.5\nbad.mp4,0.5\ngone.mp4,0.5\n"
    )
    (tmp_path / "test_labels.csv").write_text(
        "filename,label\na.mp4,REAL\nbad.mp4,FAKE\nnan.mp4,FAKE\n"
    )
    model = tmp_path / "m.joblib"
    joblib.dump(_SizeModel(), model)
    out = tmp_path / "sub.csv"
    argv = ["predict", str(model), str(videos), "-o", str(out), "--fallback", "0.4"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    with open(out, newline="") as fh:
        rows = {r["filename"]: float(r["label"]) for r in csv.DictReader(fh)}
    assert list(rows) == ["nan.mp4", "a.mp4", "bad.mp4", "gone.mp4"]
    assert rows == {"nan.mp4": 0.4, "a.mp4": 0.2, "bad.mp4": 0.4, "gone.mp4": 0.4}
    assert "4 rows, 3 with the fallback 0.4" in captured.out
    assert "no facecropper step" in captured.out
    assert "log loss" in captured.out
    assert "(3 videos)" in captured.out
    assert "cannot score" in captured.err
    assert "bad.mp4" in captured.err
    assert "unlisted.mp4" in captured.err  # on disk, not in the sample
    assert "gone.mp4" in captured.err  # listed, not on disk


def test_cli_predict_missing_model_exit_1(tmp_path, capsys):
    (tmp_path / "v.mp4").write_bytes(b"")
    argv = ["predict", str(tmp_path / "m.joblib"), str(tmp_path), "-o", "s.csv"]
    assert main(argv) == 1
    assert "m.joblib" in capsys.readouterr().err


def test_cli_fit_folder_without_labels_exit_1(tmp_path, capsys):
    (tmp_path / "v.mp4").write_bytes(b"")
    assert main(["fit", str(tmp_path), "-o", str(tmp_path / "m"), "--no-cache"]) == 1
    assert "neither a DFDC metadata.json nor real/" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# real MTCNN: extract / fit / predict round trips (small)
# ---------------------------------------------------------------------------

_FAST = ["--n-frames", "8", "--set", "facecropper__size=32"]


def _run(argv):
    """``main(argv)`` with stdout captured (usable in module fixtures)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(argv)
    return code, buf.getvalue()


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, broken_videos):
    """A DFDC folder (3 originals) with a broken and a face-less test video
    added, a face cache and a model fitted from the command line."""
    from sklearn_deepfake.datasets import make_dfdc_folder

    root = tmp_path_factory.mktemp("cli_dfdc")
    make_dfdc_folder(root, n_originals=3, n_test=2, n_frames=12, random_state=0)
    test = root / "test_videos"
    shutil.copy(broken_videos["random_bytes"], test / "broken.mp4")
    shutil.copy(broken_videos["no_face"], test / "noface.mp4")
    with open(root / "sample_submission.csv", "a") as fh:
        fh.write("broken.mp4,0.5\nnoface.mp4,0.5\n")
    cache = root / "cache"
    model = root / "model.joblib"
    argv = ["fit", str(root), "-o", str(model), "--cv", "3", "--cache", str(cache)]
    code, out = _run([*argv, "--calibration", "sigmoid", *_FAST])
    return {"root": root, "cache": cache, "model": model, "code": code, "out": out}


@pytest.mark.slow
def test_cli_fit_predict_round_trip(fitted, tmp_path, capsys):
    assert fitted["code"] == 0, fitted["out"]
    assert "3-fold GroupKFold" in fitted["out"]
    assert "calibration cv=2" in fitted["out"]
    assert "CV log loss" in fitted["out"]
    assert fitted["model"].is_file()
    assert not [f for f in os.listdir(fitted["root"]) if f.endswith(".tmp")]

    out = tmp_path / "submission.csv"
    argv = ["predict", str(fitted["model"]), str(fitted["root"]), "-o", str(out)]
    assert main([*argv, "--cache", str(fitted["cache"])]) == 0
    captured = capsys.readouterr()
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(fitted["root"] / "sample_submission.csv", newline="") as fh:
        expected = [r["filename"] for r in csv.DictReader(fh)]
    assert [r["filename"] for r in rows] == expected
    labels = np.array([float(r["label"]) for r in rows])
    assert np.isfinite(labels).all()
    assert ((labels > 0) & (labels < 1)).all()
    assert "4 rows" in captured.out
    assert "log loss" in captured.out  # test_labels.csv of the 2 real test videos
    assert "broken.mp4" in captured.err  # named in a warning

    # video files, no sample submission: one row per file, in the given order
    files = [str(fitted["root"] / "test_videos" / n) for n in expected[::-1]]
    out2 = tmp_path / "files.csv"
    assert main(["predict", str(fitted["model"]), *files, "-o", str(out2)]) == 0
    with open(out2, newline="") as fh:
        assert [r["filename"] for r in csv.DictReader(fh)] == expected[::-1]


@pytest.mark.slow
def test_cli_second_fit_hits_the_face_cache(fitted, monkeypatch, tmp_path):
    import sklearn_deepfake.video

    assert fitted["code"] == 0, fitted["out"]
    calls = []

    def no_decoding(*args, **kwargs):
        calls.append(args[0])
        raise AssertionError("decoded a video although its faces are cached")

    monkeypatch.setattr(sklearn_deepfake.video, "iter_frames", no_decoding)
    model = tmp_path / "model2.joblib"
    argv = ["fit", str(fitted["root"]), "-o", str(model), "--cv", "3"]
    argv += ["--cache", str(fitted["cache"]), "--set", "classifier__eps=0.05"]
    code, out = _run(argv + _FAST)
    assert code == 0, out
    assert calls == []
    assert "0 new record(s)" in out
    assert joblib.load(model).get_params()["classifier__eps"] == 0.05

    # other face parameters mean other cache keys: decoding is needed
    # (each failed decode is reported for its video; the run goes on)
    _run([*argv, "--n-frames", "6", "--set", "facecropper__size=32"])
    assert calls


def _records(cache):
    return sorted(p.relative_to(cache) for p in Path(cache).glob("*/*.skdf"))


@pytest.mark.slow
def test_cli_extract_killed_then_rerun_matches_clean_run(fitted, tmp_path):
    videos = sorted((fitted["root"] / "train_sample_videos").glob("*.mp4"))
    assert len(videos) == 6
    killed = tmp_path / "killed"
    argv = ["extract", *map(str, videos), *_FAST]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sklearn_deepfake", *argv, "--cache", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO_ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while not _records(killed) and time.monotonic() < deadline:
            assert proc.poll() is None, "extract ended before writing a record"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    n_before = len(_records(killed))
    assert 1 <= n_before < len(videos)

    code, out = _run([*argv, "--cache", str(killed)])
    assert code == 0, out
    assert f"{len(videos) - n_before} new record(s)" in out

    # The module fixture's `fit` extracted the same videos with the same face
    # parameters, uninterrupted, into its own cache: the clean reference.
    clean = fitted["cache"]
    assert len(_records(killed)) == len(videos)
    assert set(_records(killed)) <= set(_records(clean))
    for rel in _records(killed):
        key = rel.name.split(".")[0]
        a, b = FaceStore(killed).load(key), FaceStore(clean).load(key)
        for f in dataclasses.fields(b):
            if isinstance(getattr(b, f.name), np.ndarray):
                np.testing.assert_array_equal(
                    getattr(a, f.name), getattr(b, f.name), err_msg=str(rel)
                )


@pytest.mark.slow
def test_cli_extract_reports_bad_videos(broken_videos, tmp_path):
    paths = [broken_videos["random_bytes"], broken_videos["no_face"]]
    code, out = _run(["extract", *paths, "--cache", str(tmp_path), *_FAST])
    assert code == 0, out
    assert "2 videos in" in out
    assert "no face in 1, unreadable 1" in out
    assert "no face: no_face" in out
    assert "unreadable: random_bytes.mp4" in out


@pytest.mark.slow
def test_cli_demo_end_to_end(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path), "--n-originals", "2"]) == 0
    out = capsys.readouterr().out
    assert "6 videos in" in out  # 4 training + 2 test videos
    assert "6 new record(s)" in out
    assert "read from the face cache" in out
    assert "test log loss" in out
    with open(tmp_path / "submission.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2
    assert all(0.0 < float(r["label"]) < 1.0 for r in rows)


@pytest.mark.slow
def test_cli_fit_general_blend_trains_identity_head_on_self_blends(fitted, tmp_path):
    model = tmp_path / "general_blend.joblib"
    argv = ["fit", str(fitted["root"]), "-o", str(model), "--cv", "3"]
    argv += ["--cache", str(fitted["cache"]), "--preset", "general-blend"]
    argv += ["--n-frames", "4"]
    code, out = _run(argv)
    assert code == 0, out
    assert "of 3 self-blended copies of the real ones computed once" in out
    assert "the parts ['identity'] learn from real videos against the copies" in out
    assert "3-fold GroupKFold" in out
    assert "CV log loss" in out
    import joblib

    pipe = joblib.load(model)
    blend = pipe.named_steps["classifier"].estimator_
    # 3 originals and 3 fakes: the identity head saw the 3 real videos and
    # their 3 copies, the FaceRes head the 6 labelled videos
    assert blend.named_estimators_["identity"][0].n_samples_seen_ == 6
    assert blend.named_estimators_["faceres"][0].n_samples_seen_ == 6
    # ... and not the same 6 rows: its scaler's means are not those of the
    # labelled videos' identity columns
    folder = fitted["root"] / "train_sample_videos"
    train = sorted(str(f) for f in folder.glob("*.mp4"))
    assert len(train) == 6
    rows = pipe[:-1].transform(train)
    cols = blend.columns_[1]
    assert not np.allclose(
        rows[:, cols].mean(axis=0), blend.named_estimators_["identity"][0].mean_
    )
    assert np.allclose(
        rows[:, blend.columns_[0]].mean(axis=0),
        blend.named_estimators_["faceres"][0].mean_,
    )


@pytest.mark.slow
def test_cli_fit_general_trains_the_frame_level_head(fitted, tmp_path):
    from sklearn_deepfake.classifiers import FramewiseClassifier

    model = tmp_path / "general.joblib"
    argv = ["fit", str(fitted["root"]), "-o", str(model), "--cv", "3"]
    argv += ["--cache", str(fitted["cache"]), "--preset", "general"]
    code, out = _run([*argv, "--n-frames", "4"])
    assert code == 0, out
    assert "self-blended" not in out  # no part of its head learns from them
    assert "CV log loss" in out
    import joblib

    pipe = joblib.load(model)
    clf = pipe.named_steps["classifier"]
    assert isinstance(clf, FramewiseClassifier)
    assert clf.temperature == 2.0
    assert clf.n_features_in_ == 1024  # the FaceRes descriptor of each face
    # the faces of the 6 training videos, each video weighing one in all
    assert clf.estimator_[0].n_samples_seen_ == pytest.approx(6)
    folder = fitted["root"] / "train_sample_videos"
    train = sorted(str(f) for f in folder.glob("*.mp4"))
    frames = clf.predict_frame_proba(pipe[:-1].transform(train))
    assert len(frames) == 6
    assert sum(len(f) for f in frames) > 6


@pytest.mark.slow
def test_cli_predict_runtime_onnxruntime_gives_the_same_submission(fitted, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    assert fitted["code"] == 0, fitted["out"]
    labels = {}
    for runtime in ("torch", "onnxruntime"):
        out = tmp_path / f"{runtime}.csv"
        argv = ["predict", str(fitted["model"]), str(fitted["root"]), "-o", str(out)]
        code, _ = _run([*argv, "--cache", str(fitted["cache"]), "--runtime", runtime])
        assert code == 0
        with open(out, newline="") as fh:
            labels[runtime] = np.array([float(r["label"]) for r in csv.DictReader(fh)])
    np.testing.assert_allclose(labels["onnxruntime"], labels["torch"], atol=1e-5)
