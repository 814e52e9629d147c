"""load_faceforensics: FaceForensics++'s layout and identity groups."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold

from sklearn_deepfake.datasets import load_faceforensics, load_video_folder

ORIG = "original_sequences/youtube/{c}/videos/{n}.mp4"
FAKE = "manipulated_sequences/{m}/{c}/videos/{n}.mp4"


def _touch(root, rel):
    path = Path(root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not decoded")
    return path


@pytest.fixture
def ff_root(tmp_path):
    # components: {000, 003, 010} (000_003 and 010_003), {020, 021}, {030}
    for n in ["000", "003", "010", "020", "021", "030"]:
        _touch(tmp_path, ORIG.format(c="c23", n=n))
    for m, n in [
        ("Deepfakes", "000_003"),
        ("Deepfakes", "010_003"),
        ("Deepfakes", "020_021"),
        ("Face2Face", "000_003"),
        ("FaceSwap", "021_020"),
    ]:
        _touch(tmp_path, FAKE.format(m=m, c="c23", n=n))
    _touch(tmp_path, ORIG.format(c="c40", n="000"))
    _touch(tmp_path, "manipulated_sequences/Deepfakes/c23/videos/.hidden.mp4")
    _touch(tmp_path, "manipulated_sequences/Deepfakes/c23/videos/notes.txt")
    return tmp_path


def test_load_faceforensics_labels_methods_and_groups(ff_root):
    data = load_faceforensics(ff_root)
    assert len(data.paths) == 11
    assert data.filenames == sorted(data.filenames)
    assert all(Path(p).is_file() for p in data.paths)
    by_name = {
        Path(f).stem + "/" + m: i
        for i, (f, m) in enumerate(zip(data.filenames, data.method))
    }
    assert data.target.tolist() == [int(m != "original") for m in data.method]
    assert (data.target == 1).sum() == 5
    assert sorted(set(data.method)) == [
        "Deepfakes",
        "Face2Face",
        "FaceSwap",
        "original",
    ]
    g = {k: data.groups[i] for k, i in by_name.items()}
    # 000_003 joins 000 and 003; 010_003 joins 010 to them
    assert g["000/original"] == g["003/original"] == g["010/original"]
    assert g["000_003/Deepfakes"] == g["010_003/Deepfakes"] == g["000/original"]
    assert g["000_003/Face2Face"] == g["000/original"]
    assert g["020/original"] == g["021/original"] == g["021_020/FaceSwap"]
    assert g["030/original"] not in {g["000/original"], g["020/original"]}
    assert len(set(data.groups)) == 3
    # numbered in row order
    assert data.groups[0] == 0
    assert data.identities[by_name["000_003/Deepfakes"]] == ("000", "003")
    assert list(data.frame.columns) == [
        "filename",
        "label",
        "target",
        "method",
        "group",
        "identities",
        "path",
    ]


def test_load_faceforensics_groups_never_split_an_identity(ff_root):
    data = load_faceforensics(ff_root)
    for train, test in GroupKFold(3).split(data.paths, data.target, data.groups):
        ids_train = {i for k in train for i in data.identities[k]}
        ids_test = {i for k in test for i in data.identities[k]}
        assert not ids_train & ids_test


def test_load_faceforensics_methods_and_compression(ff_root):
    data = load_faceforensics(ff_root, methods=["FaceSwap"])
    assert sorted(set(data.method)) == ["FaceSwap", "original"]
    assert len(data.paths) == 7
    # a single name works too; [] reads only the originals
    assert load_faceforensics(ff_root, methods="FaceSwap").filenames == data.filenames
    only_real = load_faceforensics(ff_root, methods=[])
    assert only_real.target.sum() == 0
    assert len(only_real.paths) == 6
    # without the fake, 000 and 003 are not joined
    assert len(set(only_real.groups)) == 6
    c40 = load_faceforensics(ff_root, compression="c40")
    assert c40.filenames == ["original_sequences/youtube/c40/videos/000.mp4"]


def test_load_faceforensics_deepfakedetection_names(tmp_path):
    _touch(tmp_path, "original_sequences/actors/c23/videos/01__talking.mp4")
    _touch(tmp_path, "original_sequences/actors/c23/videos/02__walking.mp4")
    _touch(tmp_path, "original_sequences/youtube/c23/videos/01.mp4")
    _touch(
        tmp_path,
        "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__talking__AB12.mp4",
    )
    data = load_faceforensics(tmp_path)
    g = dict(zip(data.filenames, data.groups))
    actors = [g[f] for f in data.filenames if "actors" in f or "DeepFake" in f]
    assert len(set(actors)) == 1
    # youtube 01 is another person than actor 01
    assert g["original_sequences/youtube/c23/videos/01.mp4"] != actors[0]


def test_load_faceforensics_errors(ff_root, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_faceforensics(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="not a FaceForensics"):
        load_faceforensics(empty)
    with pytest.raises(ValueError, match="compression must be one of"):
        load_faceforensics(ff_root, compression="c32")
    with pytest.raises(
        ValueError, match=r"Unknown FaceForensics\+\+ method.*deepfakes"
    ):
        load_faceforensics(ff_root, methods=["deepfakes"])
    with pytest.raises(FileNotFoundError, match=r"No raw video.*\['c23', 'c40'\]"):
        load_faceforensics(ff_root, compression="raw")


def test_load_video_folder_points_to_load_faceforensics(ff_root):
    with pytest.raises(ValueError, match="load_faceforensics"):
        load_video_folder(ff_root)


@pytest.mark.shared_data
def test_load_faceforensics_shared_clips(shared_data):
    root = shared_data / "ffpp-c23"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    data = load_faceforensics(root)
    assert len(data.paths) == 58
    assert (data.target == 0).sum() == 19
    counts = {m: int((data.method == m).sum()) for m in set(data.method)}
    assert counts == {"original": 19, "Deepfakes": 19, "Face2Face": 10, "FaceSwap": 10}
    assert len(np.unique(data.groups)) == 10
