import pytest
from sklearn.base import clone

from sklearn_deepfake import make_default_pipeline
from sklearn_deepfake.pipeline._pipeline import _PRESET_VALUES


def test_general_preset_steps_and_values():
    pipe = make_default_pipeline(preset="general")
    assert list(pipe.named_steps) == [
        "framesampler",
        "facecropper",
        "features",
        "temporalpooling",
        "standardscaler",
        "classifier",
    ]
    chosen = _PRESET_VALUES["general"]
    sampler = pipe.named_steps["framesampler"]
    assert (sampler.n_frames, sampler.strategy, sampler.burst_len) == (
        chosen["n_frames"],
        "bursts",
        2,
    )
    pooling = pipe.named_steps["temporalpooling"]
    assert pooling.stats == tuple(chosen["pooling"])
    assert pooling.counts is False
    assert pipe.named_steps["classifier"].estimator.C == chosen["C"]
    assert pipe.named_steps["classifier"].temperature == chosen.get("temperature", 1)
    clone(pipe)  # a plain scikit-learn citizen


def test_general_preset_explicit_arguments_win():
    pipe = make_default_pipeline(preset="general", features="context", C=1.0)
    assert type(pipe.named_steps["features"]).__name__ == "FaceContextFeatures"
    assert pipe.named_steps["classifier"].estimator.C == 1.0


@pytest.mark.parametrize("features", ["facerec", "identity", "facerec+identity"])
def test_face_recognition_feature_sets_build(features):
    pipe = make_default_pipeline(features=features)
    assert pipe.named_steps["features"] is not None
