import hashlib
import json
import os
import re
from pathlib import Path

import av
import numpy as np
import pytest

from sklearn_deepfake.datasets import (
    IDENTITIES,
    load_dfdc,
    load_video_folder,
    make_dfdc_folder,
    make_face_videos,
)


def _decode(path):
    """Decoded RGB frames (as stored) and the container's display rotation."""
    with av.open(os.fspath(path)) as container:
        frames = list(container.decode(video=0))
    return [f.to_ndarray(format="rgb24") for f in frames], frames[0].rotation


def _iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter) if area > inter else 0.0


def _md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# make_face_videos


def test_make_face_videos_bunch(tiny_videos):
    data = tiny_videos
    assert len(data.paths) == 4
    assert all(os.path.getsize(p) > 1000 for p in data.paths)
    np.testing.assert_array_equal(data.target, [0, 0, 1, 1])
    np.testing.assert_array_equal(data.groups, [0, 1, 0, 1])
    assert data.identities[0] == data.identities[2]
    assert data.identities[1] == data.identities[3]
    assert all(name in IDENTITIES for ids in data.identities for name in ids)
    for boxes in data.boxes:
        assert boxes.shape == (24, 1, 4)
        assert boxes.dtype == np.float32
        assert np.all(boxes[..., 2] > boxes[..., 0])
        assert np.all(boxes[..., 3] > boxes[..., 1])
        assert boxes[..., 0::2].min() >= 0
        assert boxes[..., 2].max() <= 192
        assert boxes[..., 1::2].min() >= 0
        assert boxes[..., 3].max() <= 144
        heights = boxes[..., 3] - boxes[..., 1]
        assert 0.3 * 144 < heights.min()
        assert heights.max() < 0.6 * 144
        # the face moves
        assert np.ptp(boxes[:, 0, 0]) > 1.0
    # twins move identically
    np.testing.assert_array_equal(data.boxes[0], data.boxes[2])


def test_make_face_videos_twin_differs_inside_face_only(tiny_videos):
    pristine, _ = _decode(tiny_videos.paths[0])
    fake, _ = _decode(tiny_videos.paths[2])
    inside, outside = [], []
    for i, (a, b) in enumerate(zip(pristine, fake)):
        diff = np.abs(a.astype(float) - b).mean(axis=2)
        x1, y1, x2, y2 = tiny_videos.boxes[0][i, 0]
        mask = np.zeros(diff.shape, bool)
        mask[int(y1) : int(np.ceil(y2)), int(x1) : int(np.ceil(x2))] = True
        inside.append(diff[mask].mean())
        # far from the face (box grown by half its size): only codec noise
        w, h = x2 - x1, y2 - y1
        far = np.ones(diff.shape, bool)
        far[
            max(int(y1 - h / 2), 0) : int(y2 + h / 2),
            max(int(x1 - w / 2), 0) : int(x2 + w / 2),
        ] = False
        outside.append(diff[far].mean())
    # the encoder's noise differs everywhere a little; the face differs a lot
    assert np.mean(inside) > 4.0
    assert np.mean(outside) < 2.5
    assert np.mean(inside) > 3 * np.mean(outside)


def test_make_face_videos_deterministic(tmp_path):
    kwargs = {"n_videos": 2, "n_frames": 6, "manipulated": 0.5}
    a = make_face_videos(directory=tmp_path / "a", random_state=7, **kwargs)
    b = make_face_videos(directory=tmp_path / "b", random_state=7, **kwargs)
    c = make_face_videos(directory=tmp_path / "c", random_state=8, **kwargs)
    assert [_md5(p) for p in a.paths] == [_md5(p) for p in b.paths]
    assert [_md5(p) for p in a.paths] != [_md5(p) for p in c.paths]
    for x, y in zip(a.boxes, b.boxes):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.boxes[0], c.boxes[0])


def test_make_face_videos_random_state_instance(tmp_path):
    a = make_face_videos(
        1, n_frames=3, directory=tmp_path / "a", random_state=np.random.RandomState(3)
    )
    b = make_face_videos(1, n_frames=3, directory=tmp_path / "b", random_state=3)
    assert _md5(a.paths[0]) == _md5(b.paths[0])


@pytest.mark.parametrize(
    ("frame_size", "fps", "n_frames"),
    [((160, 120), 25.0, 5), ((96, 128), 30.0, 3), ((256, 144), 29.97, 4)],
)
def test_make_face_videos_size_fps_length(tmp_path, frame_size, fps, n_frames):
    data = make_face_videos(
        1,
        n_frames=n_frames,
        fps=fps,
        frame_size=frame_size,
        directory=tmp_path,
        random_state=0,
    )
    with av.open(data.paths[0]) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == frame_size
        assert float(stream.average_rate) == pytest.approx(fps, rel=1e-3)
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        n_decoded = sum(1 for _ in container.decode(video=0))
    assert n_decoded == n_frames
    assert data.boxes[0].shape == (n_frames, 1, 4)
    assert data.frame_size == frame_size


def test_make_face_videos_still(tmp_path):
    data = make_face_videos(1, n_frames=4, motion=False, directory=tmp_path)
    boxes = data.boxes[0]
    np.testing.assert_allclose(boxes, np.broadcast_to(boxes[:1], boxes.shape))


def test_make_face_videos_no_face(tmp_path):
    data = make_face_videos(2, n_frames=3, n_faces=0, directory=tmp_path)
    assert [b.shape for b in data.boxes] == [(3, 0, 4), (3, 0, 4)]
    assert data.identities == [(), ()]
    with pytest.raises(ValueError, match="need a face"):
        make_face_videos(1, n_faces=0, manipulated=True, directory=tmp_path)


def test_make_face_videos_two_faces_apart(tmp_path):
    data = make_face_videos(
        3, n_frames=8, n_faces=2, face_size=0.5, directory=tmp_path, random_state=0
    )
    for boxes, ids in zip(data.boxes, data.identities):
        assert boxes.shape == (8, 2, 4)
        assert len(set(ids)) == 2
        for left, right in boxes:
            assert _iou(left, right) == 0.0
            assert left[2] <= 96 <= right[0]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_make_face_videos_rotation_metadata(tmp_path, rotation):
    kwargs = {"n_frames": 3, "frame_size": (128, 96), "random_state": 4}
    upright = make_face_videos(1, directory=tmp_path / "up", **kwargs)
    rotated = make_face_videos(1, rotation=rotation, directory=tmp_path, **kwargs)
    up_frames, up_rot = _decode(upright.paths[0])
    frames, rot = _decode(rotated.paths[0])
    assert up_rot == 0
    # FFmpeg reports the display matrix counter-clockwise
    assert (-rot) % 360 == rotation
    stored_shape = (128, 96) if rotation in (90, 270) else (96, 128)
    assert frames[0].shape[:2] == stored_shape
    # rotating clockwise by the metadata gives back the upright picture (up
    # to coding noise); the opposite orientation is far off
    for a, b in zip(up_frames, frames):
        shown = np.rot90(b, k=-rotation // 90)
        assert shown.shape == a.shape
        error = np.abs(shown.astype(float) - a).mean()
        upside_down = np.abs(np.rot90(shown, k=2).astype(float) - a).mean()
        assert error < 6.0
        assert 3 * error < upside_down
    np.testing.assert_array_equal(upright.boxes[0], rotated.boxes[0])
    assert rotated.rotation == rotation


def test_make_face_videos_swap_and_mpeg4(tmp_path):
    data = make_face_videos(
        2,
        n_frames=3,
        manipulated=0.5,
        manipulation="swap",
        codec="mpeg4",
        directory=tmp_path,
        random_state=0,
    )
    with av.open(data.paths[1]) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
    a, _ = _decode(data.paths[0])
    b, _ = _decode(data.paths[1])
    assert np.abs(a[0].astype(float) - b[0]).max() > 30


def test_make_face_videos_identities_subset(tmp_path):
    data = make_face_videos(
        3, n_frames=2, identities=("cameraman_warm",), directory=tmp_path
    )
    assert data.identities == [("cameraman_warm",)] * 3


def test_make_face_videos_tempdir():
    data = make_face_videos(1, n_frames=2, random_state=0)
    assert os.path.isdir(data.directory)
    assert os.path.dirname(data.paths[0]) == data.directory


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_videos": 0}, "n_videos"),
        ({"n_frames": 0}, "n_frames"),
        ({"fps": 0}, "fps"),
        ({"frame_size": (191, 144)}, "even"),
        ({"frame_size": (3840, 2160)}, "1920x1080"),
        ({"frame_size": "big"}, "frame_size"),
        ({"n_faces": 3}, "n_faces"),
        ({"face_size": (0.6, 0.3)}, "face_size"),
        ({"face_size": 0.95}, "face_size"),
        ({"rotation": 45}, "rotation"),
        ({"manipulated": 1.5}, "manipulated"),
        ({"manipulated": "yes"}, "manipulated"),
        ({"manipulation": "gan"}, "manipulation"),
        ({"codec": "vp9"}, "codec"),
        ({"identities": ("nobody",)}, "identities"),
        ({"identities": ("astronaut",), "n_faces": 2}, "identities"),
    ],
)
def test_make_face_videos_invalid(tmp_path, kwargs, match):
    kwargs = {"n_videos": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_face_videos(directory=tmp_path, **kwargs)
    assert not list(tmp_path.glob("*.mp4"))


def _mtcnn_match_rate(paths, all_boxes, step=3, min_prob=0.9):
    from facenet_pytorch import MTCNN

    mtcnn = MTCNN(keep_all=True, device="cpu")
    hits = total = extra = 0
    for path, boxes in zip(paths, all_boxes):
        frames, rotation = _decode(path)
        for i in range(0, len(frames), step):
            frame = np.ascontiguousarray(np.rot90(frames[i], k=rotation // 90))
            found, probs = mtcnn.detect(frame)
            found = [] if found is None else found[np.asarray(probs) >= min_prob]
            for true in boxes[i]:
                total += 1
                hits += max((_iou(true, b) for b in found), default=0.0) > 0.5
            extra += max(len(found) - len(boxes[i]), 0)
    return hits / max(total, 1), extra, total


@pytest.mark.slow
def test_make_face_videos_mtcnn_finds_true_boxes(tiny_videos):
    rate, extra, total = _mtcnn_match_rate(tiny_videos.paths, tiny_videos.boxes, step=4)
    assert total == 4 * 6
    assert rate >= 0.9
    assert extra <= 2


@pytest.mark.slow
def test_make_face_videos_mtcnn_two_faces_rotated(tmp_path):
    data = make_face_videos(
        2, n_frames=6, n_faces=2, rotation=90, directory=tmp_path, random_state=1
    )
    rate, _, total = _mtcnn_match_rate(data.paths, data.boxes, step=2)
    assert total == 2 * 3 * 2
    assert rate >= 0.8


@pytest.mark.slow
def test_make_face_videos_mtcnn_no_face(broken_videos):
    path = broken_videos["no_face"]
    frames, _ = _decode(path)
    _, extra, total = _mtcnn_match_rate(
        [path], [np.zeros((len(frames), 0, 4))], step=2, min_prob=0.95
    )
    assert total == 0
    assert extra <= 2


# --------------------------------------------------------------------------
# make_dfdc_folder


def test_make_dfdc_folder_layout(tiny_dfdc):
    root = Path(tiny_dfdc.root)
    train = root / "train_sample_videos"
    metadata = json.loads((train / "metadata.json").read_text())
    assert sorted(metadata) == sorted(p.name for p in train.glob("*.mp4"))
    assert len(metadata) == 4
    for name, entry in metadata.items():
        assert re.fullmatch(r"[a-z]{10}\.mp4", name)
        assert set(entry) == {"label", "split", "original"}
        assert entry["split"] == "train"
        if entry["label"] == "FAKE":
            assert metadata[entry["original"]]["label"] == "REAL"
        else:
            assert entry["label"] == "REAL"
            assert entry["original"] is None
    lines = (root / "sample_submission.csv").read_text().splitlines()
    assert lines[0] == "filename,label"
    names = [line.split(",")[0] for line in lines[1:]]
    assert all(line.endswith(",0.5") for line in lines[1:])
    assert sorted(names) == sorted(p.name for p in (root / "test_videos").iterdir())
    assert [Path(p).name for p in tiny_dfdc.test_paths] == names
    labels = (root / "test_labels.csv").read_text().splitlines()
    assert labels[0] == "filename,label,original"
    assert sorted(tiny_dfdc.test_target.tolist()) == [0, 1]


def test_make_dfdc_folder_deterministic_and_counts(tmp_path):
    kwargs = {
        "n_originals": 2,
        "fakes_per_original": 2,
        "n_test": 3,
        "n_frames": 2,
        "random_state": 5,
    }
    a = make_dfdc_folder(tmp_path / "a", **kwargs)
    b = make_dfdc_folder(tmp_path / "b", write_test_labels=False, **kwargs)
    assert [Path(p).name for p in a.train_paths] == [
        Path(p).name for p in b.train_paths
    ]
    assert [_md5(p) for p in a.test_paths] == [_md5(p) for p in b.test_paths]
    assert len(a.train_paths) == 6
    assert a.train_target.sum() == 4
    assert len(a.test_paths) == 3
    assert a.test_target.sum() == 1
    assert not (tmp_path / "b" / "test_labels.csv").exists()
    assert load_dfdc(tmp_path / "b", subset="test").target is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_originals": 0}, "n_originals"),
        ({"fakes_per_original": -1}, "fakes_per_original"),
        ({"n_test": 1.5}, "n_test"),
        ({"frame_size": (100, 101)}, "even"),
    ],
)
def test_make_dfdc_folder_invalid(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_dfdc_folder(tmp_path, **kwargs)


# --------------------------------------------------------------------------
# load_dfdc


def _assert_groups_consistent(data):
    """No group mixes a fake with an original that is not its own."""
    frame = data.frame
    for _, rows in frame.groupby("group"):
        reals = set(rows.loc[rows["target"] == 0, "filename"])
        originals = set(rows.loc[rows["target"] == 1, "original"].dropna())
        assert len(reals) <= 1
        assert originals <= reals or not reals
        assert len(originals) <= 1


def test_load_dfdc_round_trip(tiny_dfdc):
    data = load_dfdc(tiny_dfdc.root)
    assert data.paths == tiny_dfdc.train_paths
    np.testing.assert_array_equal(data.target, tiny_dfdc.train_target)
    np.testing.assert_array_equal(data.groups, tiny_dfdc.train_groups)
    assert data.filenames == [Path(p).name for p in data.paths]
    assert list(data.frame.columns[:6]) == [
        "filename",
        "label",
        "target",
        "original",
        "group",
        "path",
    ]
    assert len(set(data.groups)) == 2
    _assert_groups_consistent(data)
    for _, row in data.frame[data.frame["target"] == 1].iterrows():
        own = data.frame.loc[data.frame["filename"] == row["original"], "group"]
        assert own.item() == row["group"]


def test_load_dfdc_test_subset(tiny_dfdc):
    data = load_dfdc(tiny_dfdc.root, subset="test")
    assert data.paths == tiny_dfdc.test_paths
    np.testing.assert_array_equal(data.target, tiny_dfdc.test_target)
    assert len(set(data.groups)) == 1  # one real/fake pair


def test_load_dfdc_train_folder_as_root(tiny_dfdc):
    folder = Path(tiny_dfdc.root) / "train_sample_videos"
    data = load_dfdc(folder)
    assert data.paths == tiny_dfdc.train_paths
    assert load_dfdc(folder, subset="test").paths == tiny_dfdc.test_paths


def _fake_dfdc(root, metadata, *, extra=(), raw=None, test=None):
    """A DFDC layout with empty placeholder videos (the loader never decodes)."""
    train = Path(root) / "train_sample_videos"
    train.mkdir(parents=True)
    for name in [*metadata, *extra]:
        (train / name).write_bytes(b"")
    text = raw if raw is not None else json.dumps(metadata)
    (train / "metadata.json").write_text(text)
    if test is not None:
        (Path(root) / "test_videos").mkdir()
        for name in test:
            (Path(root) / "test_videos" / name).write_bytes(b"")
    return Path(root)


def _entry(label, original=None):
    return {"label": label, "split": "train", "original": original}


def test_load_dfdc_groups_chain_and_orphans(tmp_path):
    metadata = {
        "b.mp4": _entry("FAKE", "a.mp4"),
        "a.mp4": _entry("REAL"),
        "c.mp4": _entry("FAKE", "a.mp4"),
        "d.mp4": _entry("REAL"),
        "e.mp4": _entry("FAKE", "gone.mp4"),  # original not in this folder
        "f.mp4": _entry("FAKE", "gone.mp4"),
    }
    data = load_dfdc(_fake_dfdc(tmp_path, metadata))
    assert data.filenames == ["a.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4", "f.mp4"]
    np.testing.assert_array_equal(data.target, [0, 1, 1, 0, 1, 1])
    np.testing.assert_array_equal(data.groups, [0, 0, 0, 1, 2, 2])
    _assert_groups_consistent(data)


def test_load_dfdc_parts(tmp_path):
    for k, meta in enumerate(
        [{"a.mp4": _entry("REAL")}, {"b.mp4": _entry("FAKE", "a.mp4")}]
    ):
        part = tmp_path / f"dfdc_train_part_{k}"
        part.mkdir()
        for name in meta:
            (part / name).write_bytes(b"")
        (part / "metadata.json").write_text(json.dumps(meta))
    data = load_dfdc(tmp_path)
    assert data.filenames == ["a.mp4", "b.mp4"]
    np.testing.assert_array_equal(data.groups, [0, 0])


def test_load_dfdc_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dfdc(tmp_path / "nowhere")


def test_load_dfdc_missing_metadata(tmp_path):
    (tmp_path / "train_sample_videos").mkdir()
    with pytest.raises(FileNotFoundError, match=r"metadata\.json"):
        load_dfdc(tmp_path)


def test_load_dfdc_malformed_json(tmp_path):
    _fake_dfdc(tmp_path, {"a.mp4": _entry("REAL")}, raw='{"a.mp4": {"label": ')
    with pytest.raises(ValueError, match=r"Malformed JSON in .*metadata\.json"):
        load_dfdc(tmp_path)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ('["a.mp4"]', "JSON object"),
        ('{"a.mp4": "REAL"}', "'a.mp4'.*'label'"),
        ('{"a.mp4": {"split": "train"}}', "'a.mp4'.*'label'"),
        ('{"a.mp4": {"label": "MAYBE"}}', "other than REAL or FAKE.*'a.mp4': 'MAYBE'"),
        ('{"a.mp4": {"label": "FAKE", "original": 3}}', "non-string 'original'"),
    ],
)
def test_load_dfdc_bad_entries(tmp_path, raw, match):
    _fake_dfdc(tmp_path, {"a.mp4": None}, raw=raw)
    with pytest.raises(ValueError, match=match):
        load_dfdc(tmp_path)


def test_load_dfdc_listed_file_missing(tmp_path):
    _fake_dfdc(tmp_path, {"a.mp4": _entry("REAL")})
    meta = tmp_path / "train_sample_videos" / "metadata.json"
    meta.write_text(json.dumps({"a.mp4": _entry("REAL"), "zz.mp4": _entry("REAL")}))
    with pytest.raises(FileNotFoundError, match=r"1 video\(s\) listed .*zz\.mp4"):
        load_dfdc(tmp_path)


def test_load_dfdc_warns_unlisted_video(tmp_path):
    _fake_dfdc(tmp_path, {"a.mp4": _entry("REAL")}, extra=["stray.mp4", "notes.txt"])
    with pytest.warns(UserWarning, match=r"stray\.mp4") as record:
        data = load_dfdc(tmp_path)
    assert "notes.txt" not in str(record[0].message)
    assert data.filenames == ["a.mp4"]


def test_load_dfdc_test_errors_and_warnings(tmp_path):
    root = _fake_dfdc(
        tmp_path, {"a.mp4": _entry("REAL")}, test=["t1.mp4", "t2.mp4", "t3.mp4"]
    )
    with pytest.warns(UserWarning, match="No .*sample_submission.csv"):
        data = load_dfdc(root, subset="test")
    assert data.filenames == ["t1.mp4", "t2.mp4", "t3.mp4"]
    assert data.target is None
    assert data.groups is None

    (root / "sample_submission.csv").write_text("filename,label\nt2.mp4,0.5\n")
    with pytest.warns(UserWarning, match=r"t1\.mp4, t3\.mp4"):
        data = load_dfdc(root, subset="test")
    assert data.filenames == ["t2.mp4"]

    (root / "sample_submission.csv").write_text(
        "filename,label\nt2.mp4,0.5\nt9.mp4,0.5\nt1.mp4,0.5\nt3.mp4,0.5\n"
    )
    with pytest.raises(FileNotFoundError, match=r"t9\.mp4"):
        load_dfdc(root, subset="test")

    (root / "sample_submission.csv").write_text(
        "filename,label\nt3.mp4,0.5\nt1.mp4,0.5\nt2.mp4,0.5\n"
    )
    (root / "test_labels.csv").write_text(
        "filename,label,original\nt1.mp4,REAL,t1.mp4\nt2.mp4,FAKE,t1.mp4\n"
        "t3.mp4,REAL,t3.mp4\n"
    )
    data = load_dfdc(root, subset="test")
    assert data.filenames == ["t3.mp4", "t1.mp4", "t2.mp4"]
    np.testing.assert_array_equal(data.target, [0, 0, 1])
    np.testing.assert_array_equal(data.groups, [0, 1, 1])

    (root / "test_labels.csv").write_text("filename,label\nt1.mp4,REAL\n")
    with pytest.raises(ValueError, match=r"no label for 2 .*t3\.mp4"):
        load_dfdc(root, subset="test")
    (root / "test_labels.csv").write_text("name,label\nt1.mp4,REAL\n")
    with pytest.raises(ValueError, match=r"test_labels\.csv must have .*filename"):
        load_dfdc(root, subset="test")


def test_load_dfdc_test_folder_missing(tmp_path):
    _fake_dfdc(tmp_path, {"a.mp4": _entry("REAL")})
    with pytest.raises(FileNotFoundError, match="test_videos"):
        load_dfdc(tmp_path, subset="test")


def test_load_dfdc_bad_subset(tmp_path):
    with pytest.raises(ValueError, match="subset"):
        load_dfdc(tmp_path, subset="valid")


# --------------------------------------------------------------------------
# load_video_folder


def _touch(root, *names):
    for name in names:
        path = Path(root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_load_video_folder_stem_pairs(tmp_path):
    _touch(
        tmp_path,
        "REAL/000.mp4",
        "real/001.MOV",
        "Fake/000_003.mp4",
        "fake/001.mp4",
        "fake/777.avi",
        "fake/.hidden.mp4",
        "fake/readme.txt",
    )
    data = load_video_folder(tmp_path)
    assert data.filenames == [
        "Fake/000_003.mp4",
        "REAL/000.mp4",
        "fake/001.mp4",
        "fake/777.avi",
        "real/001.MOV",
    ]
    np.testing.assert_array_equal(data.target, [1, 0, 1, 1, 0])
    np.testing.assert_array_equal(data.groups, [0, 0, 1, 2, 1])
    assert list(data.frame["label"]) == ["FAKE", "REAL", "FAKE", "FAKE", "REAL"]


def test_load_video_folder_subfolder_groups_and_synonyms(tmp_path):
    _touch(
        tmp_path,
        "original/actor1/a.mp4",
        "manipulated/actor1/x.mkv",
        "manipulated/actor2/y.webm",
        "pristine/actor2/b.m4v",
        "other/ignored.mp4",
    )
    data = load_video_folder(tmp_path)
    assert len(data.paths) == 4
    groups = dict(zip(data.filenames, data.groups))
    assert groups["original/actor1/a.mp4"] == groups["manipulated/actor1/x.mkv"]
    assert groups["pristine/actor2/b.m4v"] == groups["manipulated/actor2/y.webm"]
    assert groups["original/actor1/a.mp4"] != groups["pristine/actor2/b.m4v"]
    data = load_video_folder(tmp_path, groups="file")
    assert len(set(data.groups)) == 4


@pytest.mark.parametrize(("label", "value"), [("real", 0), ("FAKE", 1), (1, 1)])
def test_load_video_folder_single_label(tmp_path, label, value):
    _touch(tmp_path, "a.mp4", "sub/b.avi", "c.txt")
    data = load_video_folder(tmp_path, label=label)
    assert data.filenames == ["a.mp4", "sub/b.avi"]
    np.testing.assert_array_equal(data.target, [value, value])
    assert all(os.path.isabs(p) or Path(p).exists() for p in data.paths)


def test_load_video_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_video_folder(tmp_path / "nowhere")
    _touch(tmp_path, "clips/a.mp4", "real/notes.txt")
    with pytest.raises(FileNotFoundError, match="No video files"):
        load_video_folder(tmp_path)
    with pytest.raises(ValueError, match="No class folder"):
        load_video_folder(tmp_path / "clips")
    with pytest.raises(ValueError, match="label must be"):
        load_video_folder(tmp_path, label="unknown")
    with pytest.raises(ValueError, match="groups must be"):
        load_video_folder(tmp_path, groups="identity")


def test_load_video_folder_real_videos(tiny_videos, tmp_path):
    # real decoded files, via symlinks: the loader keeps the path it found
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    for path, target in zip(tiny_videos.paths, tiny_videos.target):
        folder = "fake" if target else "real"
        os.symlink(path, tmp_path / folder / Path(path).name)
    data = load_video_folder(tmp_path)
    assert data.target.tolist() == [1, 1, 0, 0]
    assert len(set(data.groups)) == 4  # twins do not share file names


# --------------------------------------------------------------------------
# fixtures and shared real data


def test_broken_videos_fixture(broken_videos):
    assert set(broken_videos) == {
        "empty",
        "random_bytes",
        "text",
        "truncated",
        "truncated_faststart",
        "audio_only",
        "one_frame",
        "no_face",
    }
    assert os.path.getsize(broken_videos["empty"]) == 0
    for name in ("empty", "random_bytes", "text", "truncated"):
        with pytest.raises(av.FFmpegError):
            with av.open(broken_videos[name]) as container:
                list(container.decode(video=0))
    with av.open(broken_videos["audio_only"]) as container:
        assert not container.streams.video
        assert container.streams.audio
    frames, _ = _decode(broken_videos["one_frame"])
    assert len(frames) == 1
    n_read = 0

    def read_all():
        nonlocal n_read
        with av.open(broken_videos["truncated_faststart"]) as container:
            for _ in container.decode(video=0):
                n_read += 1

    with pytest.raises(av.FFmpegError):
        read_all()
    assert 0 < n_read < 24


@pytest.mark.shared_data
def test_load_dfdc_shared_dfl_pairs(shared_data):
    root = shared_data / "dfl-pairs"
    if not root.is_dir():
        pytest.skip("dfl-pairs is absent")
    train = load_dfdc(root)
    assert len(train.paths) == 56
    assert train.target.sum() == 28
    assert len(set(train.groups)) == 28
    _assert_groups_consistent(train)
    test = load_dfdc(root, subset="test")
    assert len(test.paths) == 24
    assert test.target.sum() == 12
    assert len(set(test.groups)) == 12
    submission = (root / "sample_submission.csv").read_text().splitlines()[1:]
    assert test.filenames == [line.split(",")[0] for line in submission]


@pytest.mark.shared_data
def test_load_video_folder_shared_real_only(shared_data):
    root = shared_data / "real-only"
    if not root.is_dir():
        pytest.skip("real-only is absent")
    data = load_video_folder(root, label="real")
    assert len(data.paths) == len(list(root.glob("*.mp4")))
    assert data.target.sum() == 0
