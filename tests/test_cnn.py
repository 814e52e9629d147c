import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_deepfake.features import CNNFeatureExtractor, RandomInitWarning
from sklearn_deepfake.utils import FaceTracks

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn_deepfake.features.RandomInitWarning"
)


def _video(n=3, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return FaceTracks(
        "v.mp4",
        frame_indices=np.arange(n),
        face_found=np.ones(n, bool),
        crops=rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8),
        boxes=np.zeros((n, 4)),
        crop_boxes=np.zeros((n, 4)),
        probs=np.ones(n),
        landmarks=np.zeros((n, 5, 2)),
        track_ids=np.zeros(n, int),
        frame_pos=np.arange(n),
        detected=np.ones(n, bool),
    )


def test_embeddings_shapes_dtype_and_empty_video():
    ext = CNNFeatureExtractor("resnet18", device="cpu", batch_size=2).fit()
    out = ext.transform([_video(5), FaceTracks.empty("e.mp4", 32), _video(1)])
    assert [o.shape for o in out] == [(5, 512), (0, 512), (1, 512)]
    assert all(o.dtype == np.float32 for o in out)
    assert ext.n_features_out_ == 512
    # Batching does not change the result.
    full = clone(ext).set_params(batch_size=64).fit().transform([_video(5)])[0]
    np.testing.assert_allclose(out[0], full, rtol=1e-4, atol=1e-5)


def test_auto_batch_size_fits_a_pixel_budget_on_the_cpu(monkeypatch):
    from sklearn_deepfake.utils._device import auto_batch_size

    ext = CNNFeatureExtractor("resnet18", device="cpu", input_size=224).fit()
    assert ext.batch_size == "auto"
    sizes = []
    forward = ext._forward

    def recording(x):
        sizes.append(len(x))
        return forward(x)

    monkeypatch.setattr(ext, "_forward", recording)
    out = ext.transform([_video(19)])[0]
    assert sizes == [4, 4, 4, 4, 3]
    ref = clone(ext).set_params(batch_size=64).fit().transform([_video(19)])[0]
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    cpu = torch.device("cpu")
    assert auto_batch_size("auto", cpu, 128) == 12
    assert auto_batch_size("auto", cpu, 32) == 64  # at most 64
    assert auto_batch_size("auto", cpu, 64) == 49
    assert auto_batch_size("auto", cpu, 1000) == 1
    assert auto_batch_size("auto", torch.device("cuda"), 224) == 64
    assert auto_batch_size("auto", torch.device("mps"), 128) == 64
    assert auto_batch_size(5, cpu, 224) == 5
    with pytest.raises(ValueError, match="batch_size"):
        CNNFeatureExtractor("resnet18", batch_size="big").fit()


def test_random_init_warns_and_is_reproducible():
    with pytest.warns(RandomInitWarning, match="random weights"):
        a = CNNFeatureExtractor("resnet18", device="cpu").fit()
    b = CNNFeatureExtractor("resnet18", device="cpu").fit()
    c = CNNFeatureExtractor("resnet18", device="cpu", random_state=1).fit()
    va, vb, vc = (e.transform([_video()])[0] for e in (a, b, c))
    np.testing.assert_array_equal(va, vb)
    assert not np.allclose(va, vc)


def test_pickle_rebuilds_without_storing_weights_unless_asked():
    ext = CNNFeatureExtractor("resnet18", device="cpu").fit()
    ref = ext.transform([_video()])[0]
    light = pickle.dumps(ext)
    heavy = pickle.dumps(clone(ext).set_params(pickle_weights=True).fit())
    assert len(light) < 100_000 < len(heavy)
    for blob in (light, heavy):
        np.testing.assert_allclose(
            pickle.loads(blob).transform([_video()])[0], ref, rtol=1e-5, atol=1e-6
        )


def test_local_weights_file_is_loaded(tmp_path):
    src = CNNFeatureExtractor("resnet18", device="cpu", random_state=7).fit()
    path = tmp_path / "w.pth"
    torch.save(src.model_.state_dict(), path)
    ext = CNNFeatureExtractor("resnet18", device="cpu", weights=str(path)).fit()
    np.testing.assert_allclose(
        ext.transform([_video()])[0], src.transform([_video()])[0], rtol=1e-5
    )
    with pytest.raises(FileNotFoundError, match=r"missing\.pth"):
        CNNFeatureExtractor("resnet18", weights=tmp_path / "missing.pth").fit()
    torch.save({"fc.weight": torch.zeros(3)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="does not fit"):
        CNNFeatureExtractor("resnet18", weights=tmp_path / "bad.pth").fit()


def test_pretrained_offline_error_names_weights_alternative(monkeypatch):
    import timm

    real = timm.create_model

    def offline(name, pretrained=False, **kw):
        if pretrained:
            raise OSError("no internet")
        return real(name, pretrained=False, **kw)

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(RuntimeError, match="weights="):
        CNNFeatureExtractor("resnet18", pretrained=True).fit()
    with pytest.raises(ValueError, match="not both"):
        CNNFeatureExtractor("resnet18", pretrained=True, weights="w.pth").fit()


def test_input_size_resizes_crops():
    ext = CNNFeatureExtractor("resnet18", device="cpu", input_size=64).fit()
    assert ext.transform([_video(size=32)])[0].shape == (3, 512)
    with pytest.raises(ValueError, match="input_size"):
        CNNFeatureExtractor("resnet18", input_size=3).fit()


def test_feature_names_name_each_column_and_set_output_is_not_offered():
    ext = CNNFeatureExtractor("resnet18", device="cpu").fit()
    names = ext.get_feature_names_out()
    assert names.dtype == object
    assert names.tolist() == [f"resnet18_{i}" for i in range(ext.n_features_out_)]
    assert ext.transform([_video()])[0].shape[1] == len(names)
    assert not hasattr(ext, "set_output")  # ragged output is never wrapped


def test_stages_add_spatial_statistics_of_earlier_stages():
    video = _video(n=4, size=64)
    with pytest.warns(RandomInitWarning):
        ext = CNNFeatureExtractor(
            "resnet18", stages=(1, 3), device="cpu", batch_size=3
        ).fit([])
    assert ext.stage_channels_ == (64, 256)
    assert ext.n_features_out_ == 512 + 2 * (64 + 256)
    (out,) = ext.transform([video])
    assert out.shape == (4, ext.n_features_out_)
    names = ext.get_feature_names_out()
    assert len(names) == ext.n_features_out_
    assert names[512] == "resnet18_stage1_mean_0"
    assert names[512 + 64 + 256] == "resnet18_stage1_std_0"

    # the same numbers by hand: embedding, stage means, stage standard deviations
    x = torch.from_numpy(np.array(video.crops)).permute(0, 3, 1, 2).float() / 255
    mean = torch.tensor(ext.mean_).view(1, 3, 1, 1)
    std = torch.tensor(ext.std_).view(1, 3, 1, 1)
    with torch.inference_mode():
        last, inter = ext.model_.forward_intermediates((x - mean) / std, indices=[1, 3])
        want = torch.cat(
            [ext.model_.forward_head(last)]
            + [a.mean(dim=(2, 3)) for a in inter]
            + [a.std(dim=(2, 3)) for a in inter],
            dim=1,
        ).numpy()
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
    # the stage statistics vary between crops (not a constant block)
    assert out[:, 512:].std(axis=0).max() > 0

    # embedding=False keeps the stage columns only, in the same order
    with pytest.warns(RandomInitWarning):
        only = CNNFeatureExtractor(
            "resnet18", stages=(1, 3), embedding=False, device="cpu"
        ).fit([])
    (part,) = only.transform([video])
    np.testing.assert_allclose(part, out[:, 512:], rtol=1e-4, atol=1e-4)
    assert only.get_feature_names_out()[0] == "resnet18_stage1_mean_0"
    assert only.transform([FaceTracks.empty("b.mp4", 64)])[0].shape == (0, 640)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stages": (9,)}, "feature stages 0..4"),
        ({"stages": (1, 1)}, "repeated"),
        ({"stages": (-1,)}, "non-negative"),
        ({"embedding": False}, "needs stages"),
        ({"backbone": "hse_antispoof", "stages": (1,)}, "forward_intermediates"),
    ],
)
def test_stages_errors_are_clear(kwargs, match):
    ext = CNNFeatureExtractor(**{"backbone": "resnet18", "device": "cpu", **kwargs})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomInitWarning)
        with pytest.raises(ValueError, match=match):
            ext.fit([])
