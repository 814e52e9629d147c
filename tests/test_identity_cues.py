import numpy as np
import pytest

from sklearn_deepfake.features._face_recognition import (
    IDENTITY_CUES,
    _IdentityCues,
    identity_cues,
)


def test_identity_cues_columns_and_values():
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(4, 390))
    cues = identity_cues(frames)
    assert cues.shape == (4, len(IDENTITY_CUES))
    np.testing.assert_allclose(cues[:, :6], frames[:, 384:390], rtol=1e-6)
    # a video whose descriptors all point the same way has cosine 1
    same = np.tile(frames[:1], (3, 1))
    np.testing.assert_allclose(identity_cues(same)[:, 6:], 1.0, rtol=1e-6)
    # a row pointing elsewhere lowers its own cosine
    mixed = same.copy()
    mixed[2, :128] *= -1
    assert identity_cues(mixed)[2, 6] < identity_cues(mixed)[0, 6]


def test_identity_cues_empty_and_bad_width():
    assert identity_cues(np.zeros((0, 390))).shape == (0, 9)
    with pytest.raises(ValueError, match="390 columns"):
        identity_cues(np.zeros((2, 128)))


def test_identity_cues_transformer_keeps_one_array_per_video():
    rng = np.random.default_rng(1)
    X = [rng.normal(size=(3, 390)), np.zeros((0, 390))]
    out = _IdentityCues().fit_transform(X)
    assert [a.shape for a in out] == [(3, 9), (0, 9)]
    out = _IdentityCues(descriptor=True).fit(X).transform(X)
    assert [a.shape for a in out] == [(3, 137), (0, 137)]
    np.testing.assert_allclose(out[0][:, :128], X[0][:, :128], rtol=1e-6)
    cues = _IdentityCues(descriptor=True).fit(X)
    names = cues.get_feature_names_out()
    assert names.tolist() == [f"face_{i}" for i in range(128)] + list(IDENTITY_CUES)
    assert len(names) == cues.n_features_out_
    assert not hasattr(cues, "set_output")
    with pytest.raises(ValueError, match="video 0"):
        _IdentityCues().fit(X).transform([np.zeros((1, 5))])
    with pytest.raises(ValueError, match="'descriptor' parameter of _IdentityCues"):
        _IdentityCues(descriptor="yes").fit(X)
