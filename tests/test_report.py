"""Tests of explain_video (HTML report) and ``sklearn-deepfake explain``."""

from __future__ import annotations

import base64
import os
import re
import warnings
from html.parser import HTMLParser

import joblib
import numpy as np
import pytest
from sklearn.pipeline import Pipeline

pytest.importorskip("pytorch_grad_cam")

from sklearn_deepfake import make_default_pipeline
from sklearn_deepfake.cli import main
from sklearn_deepfake.inspection import explain_video
from sklearn_deepfake.inspection._gradcam import frame_scores

pytestmark = pytest.mark.slow


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.ids, self.tags = [], {}, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] = tag


def _parse(text):
    parser = _Collect()
    parser.feed(text)
    parser.close()
    return parser


def _png_size(src):
    assert src.startswith("data:image/png;base64,")
    data = base64.b64decode(src.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def cnn_model(tiny_videos, tmp_path_factory):
    """Default pipeline with CNN features (tiny resnet18, random weights)."""
    cache = tmp_path_factory.mktemp("faces")
    pipe = make_default_pipeline(
        features="cnn",
        backbone="resnet18",
        n_frames=6,
        size=64,
        cache_dir=cache,
        device="cpu",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(list(tiny_videos.paths), tiny_videos.target)
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    joblib.dump(pipe, path)
    return pipe, path


def test_report_contents(cnn_model, tiny_videos, tmp_path):
    pipe, _ = cnn_model
    video = tiny_videos.paths[2]
    out = tmp_path / "report.html"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = explain_video(pipe, video, out, n_faces=4)
    assert out.read_text(encoding="utf-8") == text
    parsed = _parse(text)
    assert parsed.tags[0] == "html"
    assert "script" not in parsed.tags
    # No external assets: every image is embedded.
    assert not re.search(r'(src|href)="(?!data:)', text)
    proba = pipe.predict_proba([video])[0, 1]
    score = re.search(r'id="score">([0-9.]+)<', text).group(1)
    assert float(score) == pytest.approx(proba, abs=5e-4)
    kinds = [img["class"] for img in parsed.images]
    assert kinds == ["timeline", "heatmaps"]
    for img in parsed.images:
        w, h = _png_size(img["src"])
        assert w > 100
        assert h > 50
    assert "layer4" in text  # the automatic Grad-CAM layer of resnet18
    assert os.path.basename(video) in text
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_frame_scores_average_to_video_score(cnn_model, tiny_videos):
    pipe, _ = cnn_model
    tracks = pipe[:2].transform(list(tiny_videos.paths))
    scores = frame_scores(pipe, tracks)
    proba = pipe[2:].predict_proba(tracks)[:, 1]
    for s, p, t in zip(scores, proba, tracks):
        assert s.shape == (len(t),)
        if len(t):
            logit = np.log(s) - np.log1p(-s)
            # mean pooling + affine tail: mean frame log-odds = video log-odds
            # (up to the eps clipping of the probabilities)
            expected = 1 / (1 + np.exp(-logit.mean()))
            assert np.clip(expected, 0.01, 0.99) == pytest.approx(p, abs=1e-6)


def test_report_without_cnn_has_no_heatmaps(tiny_videos, tmp_path):
    pipe = make_default_pipeline(
        features="context", n_frames=4, size=64, cache_dir=tmp_path, device="cpu"
    )
    pipe.fit(list(tiny_videos.paths), tiny_videos.target)
    text = explain_video(pipe, tiny_videos.paths[0])
    kinds = [img["class"] for img in _parse(text).images]
    assert kinds == ["timeline", "faces"]
    assert "Faces and Grad-CAM heatmaps" not in text


def test_report_of_calibrated_cnn_model(tiny_videos, tmp_path):
    # CalibratedClassifierCV averages the sigmoids of several models: not affine,
    # so no frame scores and no Grad-CAM target; the report still works.
    pipe = make_default_pipeline(
        features="cnn",
        backbone="resnet18",
        calibration="sigmoid",
        cv=2,
        n_frames=4,
        size=64,
        cache_dir=tmp_path,
        device="cpu",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(list(tiny_videos.paths), tiny_videos.target)
        text = explain_video(pipe, tiny_videos.paths[0])
    assert [img["class"] for img in _parse(text).images] == ["timeline", "faces"]
    assert "not affine" in text
    assert "No Grad-CAM heatmaps" in text


def test_report_of_faceless_video(cnn_model, tmp_path):
    from sklearn_deepfake.datasets import make_face_videos

    pipe, _ = cnn_model
    video = make_face_videos(
        n_videos=1, n_frames=8, n_faces=0, directory=tmp_path, random_state=5
    ).paths[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = explain_video(pipe, video)
        proba = pipe.predict_proba([video])[0, 1]
    assert [img["class"] for img in _parse(text).images] == ["timeline"]
    assert "No face was found" in text
    assert re.search(r"<td>0 of [1-9]", text)
    score = re.search(r'id="score">([0-9.]+)<', text).group(1)
    assert float(score) == pytest.approx(proba, abs=5e-4)


def test_report_of_face_cnn_pipeline(tiny_videos, tmp_path):
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.nets import FaceCNNClassifier
    from sklearn_deepfake.video import FrameSampler

    pipe = Pipeline(
        [
            ("framesampler", FrameSampler(n_frames=4)),
            ("facecropper", FaceCropper(size=64, cache_dir=tmp_path, device="cpu")),
            (
                "clf",
                FaceCNNClassifier(
                    "resnet18",
                    max_epochs=1,
                    valid_size=None,
                    device="cpu",
                    random_state=0,
                ),
            ),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(list(tiny_videos.paths), tiny_videos.target)
        text = explain_video(pipe, tiny_videos.paths[1], n_faces=2, layer="layer3")
    parsed = _parse(text)
    assert [img["class"] for img in parsed.images] == ["timeline", "heatmaps"]
    assert "layer3" in text


def test_cli_explain(cnn_model, tiny_videos, tmp_path, capsys):
    _, model_path = cnn_model
    out = tmp_path / "sub" / "r.html"
    code = main(["explain", str(model_path), str(tiny_videos.paths[3]), "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    assert "P(FAKE)" in capsys.readouterr().out
    assert len(_parse(out.read_text(encoding="utf-8")).images) == 2
    # A missing video is an error, and leaves nothing behind.
    bad = tmp_path / "bad.html"
    assert main(["explain", str(model_path), "missing.mp4", "-o", str(bad)]) == 1
    assert not bad.exists()
    assert "missing.mp4" in capsys.readouterr().err


def test_atomic_write_keeps_old_report(cnn_model, tiny_videos, tmp_path, monkeypatch):
    from sklearn_deepfake.inspection import _report

    pipe, _ = cnn_model
    out = tmp_path / "report.html"
    out.write_text("old", encoding="utf-8")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_report.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        explain_video(pipe, tiny_videos.paths[0], out, n_faces=2)
    assert out.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["report.html"]
