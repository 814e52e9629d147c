"""Fusion of branches: make_fusion_pipeline and make_fusion_stack from paths."""

from __future__ import annotations

import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake import make_fusion_pipeline, make_fusion_stack
from sklearn_deepfake.calibration import ClippedClassifier
from sklearn_deepfake.datasets import make_face_videos
from sklearn_deepfake.ensemble import CalibratedStackingClassifier
from sklearn_deepfake.features import AudioFeatures, OpticalFlowFeatures

FAST = {"n_frames": 8, "size": 48, "device": "cpu"}


@pytest.fixture(scope="module")
def talking(tmp_path_factory):
    """3 talking faces with sound, then their 3 audio-manipulated twins."""
    return make_face_videos(
        n_videos=6,
        n_frames=16,
        manipulated=0.5,
        manipulation="audio",
        directory=tmp_path_factory.mktemp("fusion_videos"),
        random_state=0,
    )


@pytest.fixture(scope="module")
def face_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fusion_faces"))


@pytest.fixture(scope="module")
def fitted(talking, face_cache):
    """A fitted face + flow + audio fusion (read-only)."""
    pipe = make_fusion_pipeline(cache_dir=face_cache, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipe.fit(talking.paths, talking.target)


def _widths(pipe):
    return [
        branch[-1].n_features_out_
        if hasattr(branch[-1], "n_features_out_")
        else len(branch[-1].get_feature_names_out())
        for _, branch in pipe.named_steps["features"].transformer_list
    ]


# -- construction (fast) ----------------------------------------------------


@pytest.mark.parametrize(
    ("branches", "match"),
    [
        (("face", "lips"), "Unknown branches"),
        ((), "at least one"),
        (("face", "face"), "repeat"),
        (3, "sequence"),
    ],
)
def test_fusion_pipeline_invalid_branches(branches, match):
    with pytest.raises(ValueError, match=match):
        make_fusion_pipeline(branches)


def test_fusion_stack_invalid_branches():
    with pytest.raises(ValueError, match="Unknown branches"):
        make_fusion_stack(("face", "nope"))


def test_fusion_pipeline_structure_and_params():
    pipe = make_fusion_pipeline(("face", "flow", "audio", "avsync"), C=0.5)
    assert list(pipe.named_steps) == ["features", "standardscaler", "classifier"]
    union = pipe.named_steps["features"]
    assert isinstance(union, FeatureUnion)
    assert [n for n, _ in union.transformer_list] == [
        "face",
        "flow",
        "audio",
        "avsync",
    ]
    assert isinstance(pipe.named_steps["classifier"], ClippedClassifier)
    assert pipe.get_params()["classifier__estimator__C"] == 0.5
    params = pipe.get_params()
    # Shared frames: the face branch samples the flow branch's bursts.
    assert params["features__face__framesampler__strategy"] == "bursts"
    assert params["features__flow__framesampler__strategy"] == "bursts"
    assert params["features__avsync__framesampler__step"] == 1
    assert isinstance(
        params["features__flow__opticalflowfeatures"], OpticalFlowFeatures
    )
    assert isinstance(params["features__audio__audiofeatures"], AudioFeatures)
    uniform = make_fusion_pipeline(("face",), shared_frames=False)
    assert uniform.get_params()["features__face__framesampler__strategy"] == ("uniform")
    # Every branch owns its own objects (no shared instance across branches).
    face_cropper = params["features__face__facecropper"]
    assert face_cropper is not params["features__flow__facecropper"]


def test_fusion_pipeline_clone_unfitted():
    pipe = make_fusion_pipeline(cache_dir="somewhere")
    copy = clone(pipe)
    assert copy.get_params()["features__face__facecropper__cache_dir"] == "somewhere"
    with pytest.raises(NotFittedError):
        check_is_fitted(copy.named_steps["classifier"])


def test_fusion_stack_structure():
    stack = make_fusion_stack(cv=3, calibration="temperature", **FAST)
    assert isinstance(stack, CalibratedStackingClassifier)
    assert [n for n, _ in stack.estimators] == ["face", "temporal", "flow", "audio"]
    temporal = stack.get_params()["temporal"]
    assert list(temporal.named_steps) == [
        "framesampler",
        "facecropper",
        "features",
        "temporalclassifier",
    ]
    assert temporal.named_steps["temporalclassifier"].valid_size is None
    for name in ("face", "flow", "audio"):
        assert list(stack.get_params()[name].named_steps)[-1] == "logisticregression"
    assert stack.cv == 3
    assert stack.calibration == "temperature"


def test_audio_branch_alone_runs_from_list_tuple_array(talking):
    pipe = make_fusion_pipeline(("audio",))
    paths = list(talking.paths)
    y = talking.target
    proba = pipe.fit(paths, y).predict_proba(paths)
    assert proba.shape == (6, 2)
    np.testing.assert_allclose(pipe.predict_proba(tuple(paths)), proba)
    np.testing.assert_allclose(pipe.predict_proba(np.asarray(paths, object)), proba)
    assert np.all((proba >= 0.01) & (proba <= 0.99))


# -- end to end on videos (slow: MTCNN) -------------------------------------


@pytest.mark.slow
def test_fusion_pipeline_end_to_end_from_paths(fitted, talking):
    X = fitted.named_steps["features"].transform(talking.paths)
    assert X.shape == (6, sum(_widths(fitted)))
    assert np.isfinite(X).all()
    proba = fitted.predict_proba(talking.paths)
    assert proba.shape == (6, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba >= 0.01) & (proba <= 0.99))
    # The audio twins have the pristine frames but another voice: the face
    # columns of a pair agree, the audio columns do not.
    n_face = _widths(fitted)[0]
    pristine, twin = X[:3], X[3:]
    np.testing.assert_allclose(pristine[:, :n_face], twin[:, :n_face], atol=1e-6)
    assert not np.allclose(
        pristine[:, -_widths(fitted)[-1] :], twin[:, -_widths(fitted)[-1] :]
    )


@pytest.mark.slow
def test_fusion_pipeline_grouped_cross_val_score(talking, face_cache):
    pipe = make_fusion_pipeline(cache_dir=face_cache, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(
            pipe,
            list(talking.paths),
            talking.target,
            groups=talking.groups,
            cv=GroupKFold(3),
            scoring="neg_log_loss",
        )
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores))
    assert np.all(scores <= 0)
    assert np.all(scores >= np.log(0.01))


@pytest.mark.slow
def test_fusion_pipeline_pickle_and_clone_of_fitted(fitted, talking):
    restored = pickle.loads(pickle.dumps(fitted))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(
            restored.predict_proba(talking.paths), fitted.predict_proba(talking.paths)
        )
    fresh = clone(fitted)
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh.named_steps["classifier"])


@pytest.mark.slow
def test_fusion_pipeline_memory_caches_the_rows(talking, face_cache, tmp_path):
    memory = joblib.Memory(tmp_path / "memory", verbose=0)
    pipe = make_fusion_pipeline(
        ("face", "audio"), cache_dir=face_cache, memory=memory, **FAST
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = pipe.fit(talking.paths, talking.target).predict_proba(talking.paths)
        second = clone(pipe).set_params(classifier__eps=0.02)
        second.fit(talking.paths, talking.target)
    assert any((tmp_path / "memory").rglob("output.pkl"))
    proba = second.predict_proba(talking.paths)
    assert np.all((proba >= 0.02) & (proba <= 0.98))
    np.testing.assert_allclose(np.clip(first, 0.02, 0.98), proba)


@pytest.mark.slow
def test_fusion_pipeline_bad_videos_get_a_row(fitted, broken_videos, tmp_path):
    silent = make_face_videos(1, n_frames=16, directory=tmp_path, random_state=5)
    bad = [
        silent.paths[0],  # a face but no audio stream
        broken_videos["no_face"],
        broken_videos["truncated"],
        broken_videos["random_bytes"],
        broken_videos["audio_only"],
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X = fitted.named_steps["features"].transform(bad)
        proba = fitted.predict_proba(bad)
    assert X.shape == (len(bad), sum(_widths(fitted)))
    assert np.isfinite(X).all()
    assert proba.shape == (len(bad), 2)
    assert np.isfinite(proba).all()
    messages = " ".join(str(w.message) for w in caught)
    for path in bad:
        assert path in messages  # each bad video is named in a warning
    names = fitted.named_steps["features"].transformer_list[-1][1][-1]
    audio_cols = list(names.get_feature_names_out())
    stream = X[:, -len(audio_cols) + audio_cols.index("audio_has_audio_stream")]
    assert stream[0] == 0.0
    assert stream[-1] == 1.0


@pytest.mark.slow
def test_fusion_stack_fits_with_groups(talking, face_cache):
    stack = make_fusion_stack(
        ("face", "temporal", "audio"), cv=3, cache_dir=face_cache, **FAST
    )
    stack.set_params(temporal__temporalclassifier__max_epochs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stack.fit(list(talking.paths), talking.target, groups=talking.groups)
        proba = stack.predict_proba(talking.paths)
    assert proba.shape == (6, 2)
    assert np.all((proba >= 0.01) & (proba <= 0.99))
    assert set(stack.oof_scores_) == {"face", "temporal", "audio"}
    assert stack.oof_predictions_.shape == (6, 3)
    assert isinstance(stack.named_estimators_["temporal"], Pipeline)
    restored = pickle.loads(pickle.dumps(stack))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(restored.predict_proba(talking.paths), proba)
