"""How ``benchmarks/bench_faceres_deep.py`` swaps FaceRes weights.

The benchmark's rows are only as good as this step: the other weights must
really replace the shipped ones, and loading a file must not change the
function in any other way (the 0-255 input scale folded into the stem).
"""

from __future__ import annotations

import numpy as np
import pytest

from sklearn_deepfake.utils._testing import make_synthetic_tracks


@pytest.fixture(scope="module")
def script(import_benchmark):
    return import_benchmark("bench_faceres_deep")


def _tracks():
    return [make_synthetic_tracks(3, 64)]


def test_reloading_the_shipped_file_gives_the_shipped_features(script):
    from sklearn_deepfake.features._faceres import faceres_weights_path

    tracks = _tracks()
    want = script.extractor(None).transform(tracks)[0]
    got = script.extractor(faceres_weights_path()).transform(tracks)[0]
    np.testing.assert_allclose(got, want, atol=1e-5)
    script.check_loading(tracks)  # the script's own guard passes


def test_other_weights_replace_the_shipped_ones(script, tmp_path):
    from safetensors.numpy import load_file, save_file

    from sklearn_deepfake.features._faceres import faceres_weights_path

    state = load_file(str(faceres_weights_path()))
    key = "blocks.12.pw.conv.weight"  # the last block: the descriptor moves
    state[key] = (state[key].astype(np.float32) * -1).astype(state[key].dtype)
    other = tmp_path / "other.safetensors"
    save_file(state, str(other))
    tracks = _tracks()
    shipped = script.extractor(None).transform(tracks)[0]
    swapped = script.extractor(other).transform(tracks)[0]
    assert np.abs(swapped - shipped).max() > 0.1
