import csv
import os
import shutil

import numpy as np
import pytest

from sklearn_deepfake.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scan_folder(tmp_path_factory):
    from sklearn_deepfake.datasets import make_face_videos

    root = tmp_path_factory.mktemp("scan")
    folder = root / "videos"
    make_face_videos(
        n_videos=2, n_frames=12, directory=folder, manipulated=0.5, random_state=0
    )
    broken = root / "broken.mp4"
    broken.write_bytes(np.random.RandomState(0).bytes(4096))
    return folder, broken


def test_scan_writes_one_row_per_video_with_fallback(scan_folder, tmp_path, capsys):
    folder, broken = scan_folder
    out = tmp_path / "results.csv"
    code = main(["scan", str(folder), str(broken), "-o", str(out), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["path"] for r in rows][-1] == str(broken)
    assert len(rows) == 3
    found = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    assert sorted(r["path"] for r in rows[:2]) == found
    p = np.array([float(r["p_fake"]) for r in rows])
    assert ((p > 0) & (p < 1)).all()
    assert p[-1] == 0.5  # the documented fallback
    assert "broken.mp4" in captured.err
    assert "fallback" in captured.err
    assert "P(FAKE)" in captured.out
    assert str(broken) in captured.out


def test_scan_report_writes_html_per_video(scan_folder, tmp_path, capsys):
    folder, _ = scan_folder
    one = tmp_path / "one.mp4"
    shutil.copy(sorted(folder.iterdir())[0], one)
    report = tmp_path / "report"
    assert main(["scan", str(one), "--report", str(report), "--device", "cpu"]) == 0
    index = (report / "index.html").read_text()
    assert "one.html" in index
    assert "P(FAKE)" in (report / "one.html").read_text()


def test_scan_unknown_model_is_a_clear_error(scan_folder, capsys):
    folder, _ = scan_folder
    assert main(["scan", str(folder), "--model", "nope"]) == 1
    assert "neither a shipped model" in capsys.readouterr().err


def test_scan_fallback_option(scan_folder, tmp_path, capsys):
    _, broken = scan_folder
    out = tmp_path / "r.csv"
    code = main(["scan", str(broken), "-o", str(out), "--fallback", "0.3"])
    assert code == 0
    assert out.read_text().splitlines()[1].endswith(",0.300000")


def test_scan_report_decodes_each_video_once(scan_folder, tmp_path, monkeypatch):
    """Without --cache-dir, the reports read the faces the scan found."""
    import sklearn_deepfake.video as video

    folder, _ = scan_folder
    one = tmp_path / "one.mp4"
    shutil.copy(sorted(folder.iterdir())[0], one)
    decoded = []
    real = video.iter_frames

    def counting(path, *args, **kwargs):
        decoded.append(os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(video, "iter_frames", counting)
    report = tmp_path / "report"
    assert main(["scan", str(one), "--report", str(report), "--device", "cpu"]) == 0
    assert (report / "one.html").exists()
    assert decoded == [str(one)]


def test_scan_runtime_onnxruntime_gives_the_same_scores(scan_folder, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    folder, _ = scan_folder
    p = {}
    for runtime in ("torch", "onnxruntime"):
        out = tmp_path / f"{runtime}.csv"
        argv = ["scan", str(folder), "-o", str(out), "--device", "cpu"]
        code = main([*argv, "--runtime", runtime])
        assert code == 0, capsys.readouterr().err
        with open(out, newline="") as fh:
            p[runtime] = np.array([float(r["p_fake"]) for r in csv.DictReader(fh)])
    np.testing.assert_allclose(p["onnxruntime"], p["torch"], atol=1e-5)
