import json
import socket

import numpy as np
import pytest

from sklearn_deepfake import load_pretrained, make_default_pipeline
from sklearn_deepfake.pretrained import PRETRAINED, save_pretrained


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    from sklearn_deepfake.datasets import make_face_videos

    data = make_face_videos(
        n_videos=4,
        n_frames=8,
        manipulated=0.5,
        directory=tmp_path_factory.mktemp("pretrained_videos"),
        random_state=0,
    )
    kwargs = {"n_frames": 4, "size": 48, "C": 1.0}
    pipe = make_default_pipeline(**kwargs, device="cpu").fit(data.paths, data.target)
    path = tmp_path_factory.mktemp("pretrained") / "small.json"
    save_pretrained(pipe, path, pipeline_kwargs=kwargs, info={"what": "test"})
    return data, pipe, path


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_save_load_round_trip_equals_the_trained_model(small_model):
    data, pipe, path = small_model
    again = load_pretrained(path, device="cpu")
    # on features: the same pooled-and-scaled head, coefficient by coefficient
    rng = np.random.default_rng(0)
    d = pipe.named_steps["temporalpooling"].n_features_in_
    frames = [rng.normal(size=(n, d)) for n in (3, 0, 5)]
    np.testing.assert_array_equal(
        again[-3:].predict_proba(frames), pipe[-3:].predict_proba(frames)
    )
    # end to end on the videos
    np.testing.assert_array_equal(
        again.predict_proba(data.paths), pipe.predict_proba(data.paths)
    )
    assert again.pretrained_info_ == {"what": "test"}


def test_round_trip_keeps_the_temperature(small_model, tmp_path):
    data, pipe, _ = small_model
    soft = pipe.set_params(classifier__temperature=2.5)
    try:
        path = save_pretrained(
            soft,
            tmp_path / "soft.json",
            pipeline_kwargs={"n_frames": 4, "size": 48, "C": 1.0},
        )
        again = load_pretrained(path, device="cpu")
        assert again.named_steps["classifier"].temperature == 2.5
        np.testing.assert_array_equal(
            again.predict_proba(data.paths), soft.predict_proba(data.paths)
        )
    finally:
        pipe.set_params(classifier__temperature=1.0)


def test_saved_model_is_small_plain_json(small_model):
    _, _, path = small_model
    record = json.loads(path.read_text())
    assert record["format"] == "sklearn-deepfake-pretrained"
    assert path.stat().st_size < 100_000


def test_save_pretrained_refuses_runtime_options(small_model, tmp_path):
    _, pipe, _ = small_model
    with pytest.raises(ValueError, match="must not hold 'device'"):
        save_pretrained(pipe, tmp_path / "m.json", pipeline_kwargs={"device": "cpu"})


def test_save_pretrained_refuses_other_pipelines(tmp_path):
    pipe = make_default_pipeline(preset="self-blended")
    with pytest.raises(ValueError, match="supports pipelines"):
        save_pretrained(pipe, tmp_path / "m.json", pipeline_kwargs={})
    # a frame-level head must be fitted
    pipe = make_default_pipeline(preset="swap")
    with pytest.raises(ValueError, match=r"FramewiseClassifier.*fitted"):
        save_pretrained(pipe, tmp_path / "m.json", pipeline_kwargs={})


def test_load_pretrained_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown pretrained model 'best'"):
        load_pretrained("best")


def test_load_pretrained_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_pretrained(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a sklearn-deepfake pretrained"):
        load_pretrained(other)


@pytest.mark.slow
@pytest.mark.parametrize("name", PRETRAINED)
def test_shipped_model_predicts_offline(name, tiny_videos, no_network):
    model = load_pretrained(name, device="cpu")
    proba = model.predict_proba(tiny_videos.paths)
    assert proba.shape == (len(tiny_videos.paths), 2)
    assert np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.pretrained_info_["recipe"]
