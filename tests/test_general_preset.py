import numpy as np
import pytest
from sklearn.base import clone

from sklearn_deepfake import make_default_pipeline
from sklearn_deepfake.pipeline._pipeline import _PRESET_VALUES


def test_general_preset_is_a_frame_level_head_on_faceres():
    from sklearn_deepfake.classifiers import FramewiseClassifier

    pipe = make_default_pipeline(preset="general")
    assert list(pipe.named_steps) == [
        "framesampler",
        "facecropper",
        "features",
        "classifier",
    ]
    chosen = _PRESET_VALUES["general"]
    sampler = pipe.named_steps["framesampler"]
    assert (sampler.n_frames, sampler.strategy, sampler.burst_len) == (8, "bursts", 2)
    clf = pipe.named_steps["classifier"]
    assert isinstance(clf, FramewiseClassifier)
    assert clf.temperature == chosen["temperature"]
    assert clf.estimator[-1].C == chosen["C"]
    names = pipe.named_steps["features"].fit([]).get_feature_names_out()
    assert len(names) == 1024  # the HSE FaceRes descriptor alone
    clone(pipe)


def test_general_blend_preset_steps_and_values():
    pipe = make_default_pipeline(preset="general-blend")
    assert list(pipe.named_steps) == [
        "framesampler",
        "facecropper",
        "features",
        "temporalpooling",
        "standardscaler",
        "classifier",
    ]
    chosen = _PRESET_VALUES["general-blend"]
    sampler = pipe.named_steps["framesampler"]
    assert (sampler.n_frames, sampler.strategy, sampler.burst_len) == (
        chosen["n_frames"],
        "bursts",
        2,
    )
    pooling = pipe.named_steps["temporalpooling"]
    assert pooling.stats == tuple(chosen["pooling"])
    assert pooling.counts is False
    assert pipe.named_steps["classifier"].temperature == 1.0
    blend = pipe.named_steps["classifier"].estimator
    assert type(blend).__name__ == "LogitBlendClassifier"
    names = [name for name, _, _ in blend.estimators]
    assert names == list(chosen["parts"])
    for name, part, _ in blend.estimators:
        want = chosen["parts"][name]
        clf = part[-1]
        assert clf.estimator.C == want["C"]
        assert clf.temperature == want.get("temperature", 1.0)
    assert blend.self_blended_parts == tuple(
        n for n, p in chosen["parts"].items() if p.get("self_blended")
    )
    clone(pipe)  # a plain scikit-learn citizen


@pytest.mark.parametrize("stats", [("mean", "std"), ("mean",), ("mean", "std", "max")])
def test_general_part_columns_split_the_pooled_features(stats):
    from sklearn_deepfake.pipeline._general import general_part_columns

    pipe = make_default_pipeline(preset="general-blend", device="cpu")
    features = pipe.named_steps["features"].fit([])
    names = features.get_feature_names_out()
    d = len(names)
    n = len(stats) * d  # pooled columns, whatever the statistics
    cols = {k: c(n) for k, c in general_part_columns().items()}
    # together the parts read every pooled column once
    both = np.sort(np.concatenate(list(cols.values())))
    np.testing.assert_array_equal(both, np.arange(n))
    for name, c in cols.items():
        per_frame = {names[k % d].split("__")[0] for k in c}
        assert per_frame == {name}
    with pytest.raises(ValueError, match="whole blocks"):
        general_part_columns()["faceres"](n + 2)  # count columns


@pytest.mark.parametrize("option", [{"features": "context"}, {"C": 1.0}])
@pytest.mark.parametrize(
    ("preset", "what"),
    [("general", "fixed frame-level"), ("general-blend", "fixed blend")],
)
def test_general_presets_refuse_options_of_another_head(preset, what, option):
    with pytest.raises(ValueError, match=what):
        make_default_pipeline(preset=preset, **option)


@pytest.mark.parametrize(
    "features",
    ["facerec", "identity", "facerec+identity", "context+identity", "faceres+identity"],
)
def test_face_recognition_feature_sets_build(features):
    pipe = make_default_pipeline(features=features, device="cpu")
    # a union of per-video steps names its columns (and fits without data)
    step = pipe.named_steps["features"].fit([])
    assert len(step.get_feature_names_out()) > 0


@pytest.fixture(scope="module")
def general_on_self_blends(tmp_path_factory):
    from sklearn_deepfake.datasets import make_face_videos
    from sklearn_deepfake.nets import make_self_blended

    data = make_face_videos(
        n_videos=6,
        n_frames=6,
        manipulated=0.5,
        directory=tmp_path_factory.mktemp("general_videos"),
        random_state=0,
    )
    kwargs = {"preset": "general-blend", "n_frames": 4}
    pipe = make_default_pipeline(**kwargs, device="cpu")
    tracks = pipe[:2].fit_transform(data.paths)
    X2, y2, _ = make_self_blended(tracks, data.target, random_state=0)
    self_blended = np.arange(len(y2)) >= len(data.target)
    pipe[2:].fit(X2, y2, classifier__self_blended=self_blended)
    return data, kwargs, pipe, y2, self_blended


def test_general_blend_identity_part_learns_from_self_blends(general_on_self_blends):
    data, _, pipe, y2, self_blended = general_on_self_blends
    assert self_blended.sum() > 0
    blend = pipe.named_steps["classifier"].estimator_
    identity, faceres = (blend.named_estimators_[n] for n in ("identity", "faceres"))
    # the identity part saw the real videos and their self-blended copies,
    # the FaceRes part the labelled videos only
    assert identity[0].n_samples_seen_ == int((y2 == 0).sum() + self_blended.sum())
    assert faceres[0].n_samples_seen_ == len(data.target)
    p = pipe.predict_proba(data.paths)[:, 1]
    assert p.shape == (len(data.paths),)
    assert np.all((p >= 0.01) & (p <= 0.99))


def test_general_blend_save_load_round_trip(general_on_self_blends, tmp_path):
    import json

    from sklearn_deepfake import load_pretrained
    from sklearn_deepfake.pretrained import save_pretrained

    data, kwargs, pipe, _, _ = general_on_self_blends
    path = save_pretrained(pipe, tmp_path / "blend.json", pipeline_kwargs=kwargs)
    record = json.loads(path.read_text())
    assert record["format_version"] == 2
    assert [p["name"] for p in record["logitblend"]["parts"]] == [
        "faceres",
        "identity",
    ]
    again = load_pretrained(path, device="cpu")
    np.testing.assert_array_equal(
        again.predict_proba(data.paths), pipe.predict_proba(data.paths)
    )
    # a file whose columns no longer match the code is refused
    record["logitblend"]["parts"][0]["columns"]["__ndarray__"][0] = 7
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="other columns"):
        load_pretrained(path, device="cpu")


def test_plain_fit_trains_both_parts_on_the_labels(general_on_self_blends):
    data, kwargs, _, _, _ = general_on_self_blends
    pipe = make_default_pipeline(**kwargs, device="cpu").fit(data.paths, data.target)
    blend = pipe.named_steps["classifier"].estimator_
    for part in blend.estimators_:
        assert part[0].n_samples_seen_ == len(data.target)


def test_fit_with_self_blends_trains_as_the_manual_route(general_on_self_blends):
    from sklearn_deepfake.pipeline import fit_with_self_blends, self_blended_features

    data, kwargs, manual, _, _ = general_on_self_blends
    pipe = make_default_pipeline(**kwargs, device="cpu")
    # batches of 2 videos: crops of two videos held at once
    feats, copies, source, fake = self_blended_features(
        pipe, data.paths, data.target, batch_size=2
    )
    assert len(feats) == len(data.paths)
    assert fake == 1
    assert set(source) <= set(np.flatnonzero(np.asarray(data.target) == 0))
    assert len(copies) == len(source) > 0
    fitted = fit_with_self_blends(pipe, data.paths, data.target, batch_size=2)
    assert fitted is pipe
    blend = pipe.named_steps["classifier"].estimator_
    n_real = int((np.asarray(data.target) == 0).sum())
    assert blend.named_estimators_["identity"][0].n_samples_seen_ == n_real + len(
        copies
    )
    assert blend.named_estimators_["faceres"][0].n_samples_seen_ == len(data.paths)
    # the FaceRes part saw the same rows as in the manual route
    np.testing.assert_allclose(
        blend.named_estimators_["faceres"][-1].estimator_.coef_,
        manual.named_steps["classifier"]
        .estimator_.named_estimators_["faceres"][-1]
        .estimator_.coef_,
        rtol=1e-5,
        atol=1e-8,
    )


def test_fit_with_self_blends_needs_a_self_blended_head():
    from sklearn_deepfake.pipeline import fit_with_self_blends

    with pytest.raises(ValueError, match="self-blends"):
        fit_with_self_blends(make_default_pipeline(), ["a.mp4"], [0])


@pytest.fixture(scope="module")
def general_fitted(general_on_self_blends):
    """The general preset fitted once on the module's videos, and its kwargs."""
    data = general_on_self_blends[0]
    kwargs = {"preset": "general", "n_frames": 4}
    pipe = make_default_pipeline(**kwargs, device="cpu").fit(data.paths, data.target)
    return data, kwargs, pipe


def test_general_save_load_round_trip(general_fitted, tmp_path):
    import json

    from sklearn_deepfake import load_pretrained
    from sklearn_deepfake.pretrained import save_pretrained

    data, kwargs, pipe = general_fitted
    path = save_pretrained(pipe, tmp_path / "general.json", pipeline_kwargs=kwargs)
    record = json.loads(path.read_text())
    assert record["format_version"] == 3
    assert record["temperature"] == _PRESET_VALUES["general"]["temperature"]
    again = load_pretrained(path, device="cpu")
    np.testing.assert_array_equal(
        again.predict_proba(data.paths), pipe.predict_proba(data.paths)
    )
    # a frame-level file with arguments that build a pooled head is refused
    record["pipeline_kwargs"] = {"preset": "default", "n_frames": 4}
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="frame-level head"):
        load_pretrained(path, device="cpu")


def test_general_frame_head_is_linear_in_the_mean_face(general_fitted):
    """The mean frame logit is the logit of the mean (scaled) descriptor."""
    from scipy.special import expit

    data, _, pipe = general_fitted
    frames = pipe[:3].transform(data.paths)
    clf = pipe.named_steps["classifier"]
    scaler, lr = clf.estimator_[0], clf.estimator_[-1]
    z = np.array([lr.decision_function(scaler.transform(f)).mean() for f in frames])
    mean_face = np.stack([scaler.transform(f).mean(axis=0) for f in frames])
    np.testing.assert_allclose(lr.decision_function(mean_face), z, rtol=1e-6)
    want = np.clip(expit(z / clf.temperature), 0.01, 0.99)
    np.testing.assert_allclose(pipe.predict_proba(data.paths)[:, 1], want, rtol=1e-6)
