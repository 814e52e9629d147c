import numpy as np
import pytest
import torch

from sklearn_deepfake.nets._clips import clip_augment, make_clips, to_tensor
from sklearn_deepfake.nets._models3d import (
    VIDEO_ARCHS,
    build_video_model,
    inflate_2d,
)
from sklearn_deepfake.utils._ragged import FaceTracks


def _clip_batch(size=112, t=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 3, t, size, size, generator=g)


@pytest.mark.slow
@pytest.mark.parametrize("arch", VIDEO_ARCHS)
def test_every_arch_gives_logits(arch):
    model = build_video_model(arch).eval()
    x = _clip_batch()
    with torch.no_grad():
        out = model(x)
        out_cl = model.to(memory_format=torch.channels_last_3d)(
            x.contiguous(memory_format=torch.channels_last_3d)
        )
    assert out.shape == (2, 1)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out_cl, out, atol=1e-3, rtol=1e-3)


@pytest.mark.slow
def test_num_classes_and_seeded_init():
    state = torch.random.get_rng_state()
    a = build_video_model("mc3_18", num_classes=3, random_state=1)
    b = build_video_model("mc3_18", num_classes=3, random_state=1)
    c = build_video_model("mc3_18", num_classes=3, random_state=2)
    # Building does not move torch's global generator.
    assert torch.equal(torch.random.get_rng_state(), state)
    assert a.fc.out_features == 3
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    assert not torch.equal(a.fc.weight, c.fc.weight)


def test_bad_arguments():
    with pytest.raises(ValueError, match="arch must be one of"):
        build_video_model("r3d_101")
    with pytest.raises(ValueError, match="not both"):
        build_video_model("r3d_18", pretrained=True, weights="w.pt")
    with pytest.raises(ValueError, match="No pretrained weights"):
        build_video_model("r3d_34", pretrained=True)
    with pytest.raises(ValueError, match="num_classes"):
        build_video_model("r3d_18", num_classes=0)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["r3d_18", "i3d_r18"])
def test_one_adamw_step_lowers_loss(arch):
    model = build_video_model(arch, random_state=0)
    x = _clip_batch(size=32, t=4)
    y = torch.tensor([[0.0], [1.0]])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def loss():
        # Eval-mode loss, so that BatchNorm's batch statistics do not mask
        # the effect of the step.
        model.eval()
        with torch.no_grad():
            return loss_fn(model(x), y).item()

    before = loss()
    model.train()
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()
    assert loss() < before


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_inflated_still_clip_equals_2d(name):
    import timm

    torch.manual_seed(0)
    net2d = timm.create_model(name, pretrained=False, num_classes=0).eval()
    # Non-trivial BatchNorm statistics, as a pretrained network would have.
    for m in net2d.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    net3d = inflate_2d(net2d).eval()
    frame = torch.rand(1, 3, 48, 48)
    still = frame.unsqueeze(2).repeat(1, 1, 5, 1, 1)
    with torch.no_grad():
        f2 = net2d(frame)
        f3 = net3d(still)
        moving = net3d(torch.rand(1, 3, 5, 48, 48))
    torch.testing.assert_close(f3, f2, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(moving, f2, atol=1e-2)
    # The 2-D network itself is unchanged.
    assert isinstance(net2d.conv1, torch.nn.Conv2d)


@pytest.mark.slow
def test_inflated_model_starts_from_2d_weights(tmp_path):
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(3)
    net2d = timm.create_model("resnet18", pretrained=False, num_classes=0).eval()
    path = tmp_path / "resnet18.safetensors"
    save_file(net2d.state_dict(), str(path))
    model = build_video_model("i3d_r18", weights=path).eval()
    frame = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.forward_features(frame.unsqueeze(2).repeat(1, 1, 4, 1, 1))
        torch.testing.assert_close(feats, net2d(frame), atol=1e-4, rtol=1e-4)


def test_inflate_rejects_even_kernel_and_plain_modules():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError, match="odd"):
        inflate_2d(net, time_kernel=lambda name, conv: 2)
    with pytest.raises(ValueError, match="no 2-D layer"):
        inflate_2d(torch.nn.Sequential(torch.nn.Linear(3, 4)))


def test_pretrained_offline_error_names_weights(monkeypatch):
    from torchvision.models._api import WeightsEnum

    def offline(self, *args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(WeightsEnum, "get_state_dict", offline)
    with pytest.raises(RuntimeError, match="weights="):
        build_video_model("r3d_18", pretrained=True)


def test_i3d_pretrained_offline_error_names_weights(monkeypatch):
    import timm

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(RuntimeError, match="weights="):
        build_video_model("i3d_r18", pretrained=True)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["mc3_18", "i3d_r18"])
def test_weights_round_trip(tmp_path, arch):
    model = build_video_model(arch, random_state=5).eval()
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    again = build_video_model(arch, weights=path, random_state=9).eval()
    for (k, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), k
    # Another classifier size: the body loads, the head is skipped.
    other = build_video_model(arch, weights=path, num_classes=4)
    first = next(iter(model.state_dict()))
    assert torch.equal(other.state_dict()[first], model.state_dict()[first])
    assert other.fc.out_features == 4
    # Weights of another network are refused.
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="does not fit"):
        build_video_model(arch, weights=tmp_path / "bad.pt")


# --------------------------------------------------------------- clips


def _tracks(track_ids, frame_pos, size=8, n_frames=None):
    track_ids = np.asarray(track_ids, np.int64)
    frame_pos = np.asarray(frame_pos, np.int64)
    n = len(track_ids)
    n_frames = n_frames or (int(frame_pos.max()) + 1 if n else 0)
    # Each crop encodes its row number, so clips can be traced back.
    crops = np.broadcast_to(
        np.arange(n, dtype=np.uint8)[:, None, None, None], (n, size, size, 3)
    )
    found = np.isin(np.arange(n_frames), frame_pos)
    return FaceTracks(
        "v.mp4",
        frame_indices=np.arange(n_frames) * 3,
        face_found=found,
        crops=crops,
        boxes=np.zeros((n, 4)),
        crop_boxes=np.zeros((n, 4)),
        probs=np.ones(n),
        landmarks=np.zeros((n, 5, 2)),
        track_ids=track_ids,
        frame_pos=frame_pos,
        detected=np.ones(n, bool),
    )


def _rows(clips):
    return clips[:, :, 0, 0, 0].tolist()


def test_make_clips_respects_gaps_and_strides():
    # Track 0 present in frames 0-6 and 8-10 (missing in frame 7).
    pos = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10]
    clips, ids = make_clips(_tracks([0] * 10, pos), clip_len=3, stride=2)
    assert _rows(clips) == [[0, 1, 2], [2, 3, 4], [4, 5, 6], [7, 8, 9]]
    assert ids.tolist() == [0, 0, 0, 0]
    # Stride 3 on a run of 7 leaves frame 6 out: a last window ends on it.
    clips, _ = make_clips(_tracks([0] * 7, range(7)), clip_len=3, stride=3)
    assert _rows(clips) == [[0, 1, 2], [3, 4, 5], [4, 5, 6]]


def test_make_clips_short_runs_and_padding():
    tr = _tracks([0] * 5, [0, 1, 3, 4, 5])  # runs of 2 and 3 frames
    clips, _ = make_clips(tr, clip_len=4, stride=1)
    assert clips.shape == (0, 4, 8, 8, 3)
    clips, _ = make_clips(tr, clip_len=4, stride=1, min_clip_len=3)
    assert _rows(clips) == [[2, 3, 4, 4]]
    clips, _ = make_clips(tr, clip_len=4, stride=1, min_clip_len=2)
    assert _rows(clips) == [[0, 1, 1, 1], [2, 3, 4, 4]]
    with pytest.raises(ValueError, match="min_clip_len"):
        make_clips(tr, clip_len=4, min_clip_len=5)


def test_make_clips_track_choice():
    # Track 1 has rows 0-3, track 0 rows 4-7, both over frames 0-3.
    tr = _tracks([1, 1, 1, 1, 0, 0, 0, 0], [0, 1, 2, 3] * 2)
    clips, ids = make_clips(tr, clip_len=4, stride=4)
    assert ids.tolist() == [0]
    assert _rows(clips) == [[4, 5, 6, 7]]
    clips, ids = make_clips(tr, clip_len=4, stride=4, track="all")
    assert ids.tolist() == [0, 1]
    assert _rows(clips) == [[4, 5, 6, 7], [0, 1, 2, 3]]
    # Without a track 0, "best" falls back to the lowest id.
    clips, ids = make_clips(tr.track(1), clip_len=4, track="best")
    assert ids.tolist() == [1]
    with pytest.raises(ValueError, match="track"):
        make_clips(tr, track="first")


def test_make_clips_resize_and_empty():
    tr = _tracks([0] * 4, range(4), size=8)
    clips, _ = make_clips(tr, clip_len=2, stride=2, size=16)
    assert clips.shape == (2, 2, 16, 16, 3)
    assert _rows(clips) == [[0, 1], [2, 3]]
    empty = FaceTracks.empty("none.mp4", 8, frame_indices=[0, 5, 10])
    clips, ids = make_clips(empty, clip_len=16, size=32)
    assert clips.shape == (0, 16, 32, 32, 3)
    assert clips.dtype == np.uint8
    assert ids.shape == (0,)
    with pytest.raises(TypeError, match="FaceTracks"):
        make_clips(np.zeros((4, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="clip_len"):
        make_clips(tr, clip_len=0)


def _random_clip(seed=0, t=4, size=24):
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return np.stack([np.roll(frame, i, axis=0) for i in range(t)])


def test_clip_augment_is_the_same_on_every_frame():
    clip = _random_clip()
    still = np.repeat(clip[:1], 4, axis=0)
    n_changed = 0
    for seed in range(20):
        # A still clip stays still: every frame got the same flip, colour
        # change, blur and JPEG quality.
        out = clip_augment(still, seed, p_noise=0.0)
        assert all(np.array_equal(f, out[0]) for f in out)
        n_changed += not np.array_equal(out, still)
    assert n_changed > 10
    # Flip only: every frame is flipped.
    out = clip_augment(clip, 0, p_flip=1.0, p_color=0, p_noise=0, p_blur=0, p_jpeg=0)
    assert np.array_equal(out, clip[:, :, ::-1])
    out = clip_augment(clip, 0, p_flip=0.0, p_color=0, p_noise=0, p_blur=0, p_jpeg=0)
    assert np.array_equal(out, clip)


def test_clip_augment_colour_is_consistent_across_frames():
    clip = _random_clip()
    out = clip_augment(
        clip, 3, p_flip=0, p_color=1.0, hue=0.0, p_noise=0, p_blur=0, p_jpeg=0
    )
    # Brightness/contrast is one affine map for the whole clip: each frame's
    # output is the same function of its input (up to uint8 rounding).
    x, y = clip.reshape(-1).astype(float), out.reshape(-1).astype(float)
    inside = (y > 0) & (y < 255)
    slope, intercept = np.polyfit(x[inside], y[inside], 1)
    assert abs(slope - 1) > 1e-3 or abs(intercept) > 0.5  # something changed
    assert np.abs(slope * x[inside] + intercept - y[inside]).max() <= 1.0


def test_clip_augment_reproducible_and_varied():
    clip = _random_clip()
    a = clip_augment(clip, np.random.default_rng(7))
    b = clip_augment(clip, np.random.default_rng(7))
    assert np.array_equal(a, b)
    outs = {clip_augment(clip, s).tobytes() for s in range(10)}
    assert len(outs) > 5
    assert np.array_equal(clip, _random_clip())  # input untouched
    with pytest.raises(ValueError, match="uint8"):
        clip_augment(clip.astype(float), 0)


def test_to_tensor_layout_and_normalisation():
    clips = np.zeros((2, 3, 4, 5, 3), np.uint8)
    clips[..., 0] = 255
    clips[1, 2, 1, 3] = (10, 20, 30)
    x = to_tensor(clips, mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 0.5))
    assert x.shape == (2, 3, 3, 4, 5)
    assert x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last_3d)
    assert float(x[0, 0, 0, 0, 0]) == pytest.approx(1.0)
    assert float(x[0, 1, 0, 0, 0]) == pytest.approx(-2.0)
    np.testing.assert_allclose(
        x[1, :, 2, 1, 3].numpy(),
        [(10 / 255 - 0.5) / 0.5, (20 / 255 - 0.5) / 0.25, (30 / 255 - 0.5) / 0.5],
        rtol=1e-5,
    )
    y = to_tensor(clips[0], channels_last=False)
    assert y.shape == (1, 3, 3, 4, 5)
    assert y.is_contiguous()
    with pytest.raises(ValueError, match="shape"):
        to_tensor(np.zeros((2, 3, 4, 5), np.uint8))
