"""DFDC ``metadata.json`` variants met in the wild (issue 20, item 4).

Each variant gets a clear error naming the file, or a loader option: fakes
without an ``original``, empty files, labels in another case, unknown labels.
The placeholder videos are empty files: the loader never decodes.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from sklearn_deepfake.datasets import load_dfdc, load_video_folder


def _dfdc(root, metadata, *, raw=None, names=None):
    train = Path(root) / "train_sample_videos"
    train.mkdir(parents=True)
    for name in names if names is not None else metadata:
        (train / name).write_bytes(b"")
    meta = train / "metadata.json"
    if raw is not None:
        meta.write_bytes(raw)
    else:
        meta.write_text(json.dumps(metadata))
    return Path(root)


def test_labels_in_any_case(tmp_path):
    metadata = {
        "a.mp4": {"label": "real"},
        "b.mp4": {"label": "fake", "original": "a.mp4"},
        "c.mp4": {"label": "Real"},
        "d.mp4": {"label": " Fake ", "original": "c.mp4"},
    }
    data = load_dfdc(_dfdc(tmp_path, metadata))
    np.testing.assert_array_equal(data.target, [0, 1, 0, 1])
    np.testing.assert_array_equal(data.groups, [0, 0, 1, 1])
    assert data.frame["label"].tolist() == ["REAL", "FAKE", "REAL", "FAKE"]


def test_unknown_labels_name_the_file_entries_and_labels(tmp_path):
    metadata = {
        "a.mp4": {"label": "REAL"},
        "b.mp4": {"label": "DEEPFAKE", "original": "a.mp4"},
        "c.mp4": {"label": "unknown"},
    }
    root = _dfdc(tmp_path, metadata)
    with pytest.raises(ValueError, match="other than REAL or FAKE") as info:
        load_dfdc(root)
    message = str(info.value)
    assert str(root / "train_sample_videos" / "metadata.json") in message
    assert "2 entries" in message
    assert "'b.mp4': 'DEEPFAKE'" in message
    assert "'c.mp4': 'unknown'" in message


@pytest.mark.parametrize("raw", [b"", b"  \n", b"\xef\xbb\xbf"])
def test_empty_metadata_file_is_a_clear_error(tmp_path, raw):
    root = _dfdc(tmp_path, {}, raw=raw, names=["a.mp4"])
    path = root / "train_sample_videos" / "metadata.json"
    with pytest.raises(ValueError, match=rf"{path} is empty \(\d+ bytes\)"):
        load_dfdc(root)


def test_empty_object_lists_no_video(tmp_path):
    root = _dfdc(tmp_path, {}, names=[])
    with pytest.raises(ValueError, match=r"metadata\.json lists no video"):
        load_dfdc(root)


def test_metadata_with_a_byte_order_mark(tmp_path):
    metadata = {"a.mp4": {"label": "REAL"}}
    raw = b"\xef\xbb\xbf" + json.dumps(metadata).encode()
    data = load_dfdc(_dfdc(tmp_path, metadata, raw=raw))
    assert data.filenames == ["a.mp4"]


def _no_original():
    return {
        "a.mp4": {"label": "REAL"},
        "b.mp4": {"label": "FAKE", "original": "a.mp4"},
        "c.mp4": {"label": "FAKE"},  # no 'original' key
        "d.mp4": {"label": "FAKE", "original": None},
        "e.mp4": {"label": "FAKE", "original": ""},
    }


def test_fakes_without_original_warn_and_get_their_own_group(tmp_path):
    root = _dfdc(tmp_path, _no_original())
    with pytest.warns(UserWarning, match=r"3 FAKE video\(s\) .* no 'original'") as rec:
        data = load_dfdc(root)
    message = str(rec[0].message)
    assert str(root / "train_sample_videos" / "metadata.json") in message
    assert "c.mp4, d.mp4, e.mp4" in message
    assert rec[0].filename == __file__  # points at the caller
    np.testing.assert_array_equal(data.groups, [0, 0, 1, 2, 3])


def test_missing_original_option(tmp_path):
    root = _dfdc(tmp_path, _no_original())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_dfdc(root, missing_original="ignore")
    assert len(set(data.groups)) == 4
    with pytest.raises(ValueError, match=r"3 FAKE video\(s\)"):
        load_dfdc(root, missing_original="raise")
    with pytest.raises(ValueError, match="missing_original must be"):
        load_dfdc(root, missing_original="skip")


def test_complete_metadata_does_not_warn(tmp_path):
    metadata = {
        "a.mp4": {"label": "REAL"},
        "b.mp4": {"label": "FAKE", "original": "a.mp4"},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dfdc(_dfdc(tmp_path, metadata))


def test_unknown_folder_layout_points_at_the_other_loaders(tmp_path):
    for sub in ("original_sequences/youtube/c23/videos", "manipulated_sequences"):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / "original_sequences/youtube/c23/videos/000.mp4").write_bytes(b"")
    with pytest.raises(ValueError, match=r"FaceForensics.*load_faceforensics"):
        load_video_folder(tmp_path)
