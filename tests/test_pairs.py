"""Pair-aware extraction (fakes cut with their original's boxes) and its uses."""

import os
import warnings

import numpy as np
import pytest

from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder
from sklearn_deepfake.faces import (
    FaceCropper,
    FaceStore,
    LazyFaceTracks,
    _cropping,
    extract_pairs,
    pair_partners,
)
from sklearn_deepfake.faces._cropping import _crop
from sklearn_deepfake.video import FrameSampler, iter_frames

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dfdc5(tmp_path_factory):
    """2 originals with 5 fakes each, 8 frames per video."""
    root = tmp_path_factory.mktemp("dfdc5")
    make_dfdc_folder(
        root, n_originals=2, fakes_per_original=5, n_test=0, n_frames=8,
        random_state=0,
    )  # fmt: skip
    return load_dfdc(root)


def _cropper(**kw):
    return FaceCropper(size=32, device="cpu", **kw).fit()


@pytest.fixture
def count_detection(monkeypatch):
    """Record the videos detected on and the number of MTCNN calls."""
    seen = {"videos": [], "calls": 0}
    crop_one = FaceCropper._crop_one
    detect_faces, detect_near = _cropping.detect_faces, _cropping.detect_near

    def crop_one_spy(self, plan):
        seen["videos"].append(plan.path)
        return crop_one(self, plan)

    def faces_spy(*args, **kwargs):
        seen["calls"] += 1
        return detect_faces(*args, **kwargs)

    def near_spy(*args, **kwargs):
        seen["calls"] += 1
        return detect_near(*args, **kwargs)

    monkeypatch.setattr(FaceCropper, "_crop_one", crop_one_spy)
    monkeypatch.setattr(_cropping, "detect_faces", faces_spy)
    monkeypatch.setattr(_cropping, "detect_near", near_spy)
    return seen


def _originals(data):
    return [o if isinstance(o, str) else None for o in data.frame["original"]]


def test_extract_pairs_fakes_use_original_boxes(dfdc5):
    data = dfdc5
    tracks = extract_pairs(_cropper(), data.paths, _originals(data))
    assert len(tracks) == len(data.paths)
    index = {os.path.basename(p): i for i, p in enumerate(data.paths)}
    n_fakes = 0
    for i, original in enumerate(_originals(data)):
        if original is None:
            assert "original" not in tracks[i].meta
            continue
        n_fakes += 1
        fake, orig = tracks[i], tracks[index[original]]
        assert len(orig) > 0
        assert fake.meta["original"] == data.paths[index[original]]
        np.testing.assert_array_equal(fake.frame_indices, orig.frame_indices)
        np.testing.assert_array_equal(fake.frame_pos, orig.frame_pos)
        np.testing.assert_array_equal(fake.track_ids, orig.track_ids)
        np.testing.assert_array_equal(fake.crop_boxes, orig.crop_boxes)
        np.testing.assert_array_equal(fake.boxes, orig.boxes)
        np.testing.assert_array_equal(fake.landmarks, orig.landmarks)
        # the crops are the fake's own pixels, cut with those boxes
        frames = dict(iter_frames(fake.path, fake.frame_indices))
        expected = np.stack(
            [
                _crop(frames[int(fake.frame_indices[p])], box, 32)
                for box, p in zip(fake.crop_boxes, fake.frame_pos)
            ]
        )
        np.testing.assert_array_equal(fake.crops, expected)
        assert not np.array_equal(fake.crops, orig.crops)  # the face differs
    assert n_fakes == 10
    np.testing.assert_array_equal(pair_partners(tracks) >= 0, data.target == 1)


def test_extract_pairs_detects_on_originals_only(dfdc5, count_detection):
    data = dfdc5
    reals = [p for p, t in zip(data.paths, data.target) if t == 0]
    _cropper().transform(FrameSampler().fit_transform(reals))
    calls_reals = count_detection["calls"]
    count_detection.update(videos=[], calls=0)
    extract_pairs(_cropper(), data.paths, _originals(data))
    assert sorted(count_detection["videos"]) == sorted(reals)
    assert count_detection["calls"] == calls_reals > 0


def test_extract_pairs_original_outside_x(dfdc5, count_detection):
    data = dfdc5
    fakes = [i for i, t in enumerate(data.target) if t == 1][:2]
    originals = _originals(data)
    tracks = extract_pairs(
        _cropper(), [data.paths[i] for i in fakes], [originals[i] for i in fakes]
    )
    assert len(tracks) == 2
    assert all(t.meta.get("original") for t in tracks)
    assert {os.path.basename(v) for v in count_detection["videos"]} == {
        originals[i] for i in fakes
    }


def test_extract_pairs_missing_original_falls_back(dfdc5, count_detection):
    data = dfdc5
    fake = int(np.flatnonzero(data.target == 1)[0])
    with pytest.warns(UserWarning, match="no original on disk"):
        (tracks,) = extract_pairs(_cropper(), [data.paths[fake]], ["gone.mp4"])
    assert "original" not in tracks.meta
    assert len(tracks) > 0
    assert count_detection["videos"] == [data.paths[fake]]


def test_extract_pairs_store_reuses_records(dfdc5, tmp_path, count_detection):
    data = dfdc5
    keep = [0, 1, 2, 3]  # some reals and fakes, sorted by name
    paths = [data.paths[i] for i in keep]
    originals = [_originals(data)[i] for i in keep]
    for i, o in enumerate(originals):  # keep every pair inside the subset
        if o is not None and o not in {os.path.basename(p) for p in paths}:
            originals[i] = None
    store = FaceStore(tmp_path / "store")
    first = extract_pairs(_cropper(cache_dir=store), paths, originals)
    plain = extract_pairs(_cropper(), paths, originals)
    count_detection.update(videos=[], calls=0)
    again = extract_pairs(_cropper(cache_dir=store), paths, originals)
    assert count_detection["videos"] == []
    for a, b, c in zip(first, again, plain):
        assert isinstance(b, LazyFaceTracks)
        assert a.meta == b.meta == c.meta
        np.testing.assert_array_equal(b.crop_boxes, c.crop_boxes)
        np.testing.assert_array_equal(b.crops, c.crops)


def test_extract_pairs_n_jobs_matches_serial(dfdc5):
    data = dfdc5
    first = data.frame["original"].dropna().iloc[0]
    keep = [
        i
        for i, (name, o) in enumerate(zip(data.filenames, _originals(data)))
        if name == first or o == first
    ][:3]
    paths = [data.paths[i] for i in keep]
    originals = [_originals(data)[i] for i in keep]
    serial = extract_pairs(_cropper(), paths, originals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        parallel = extract_pairs(_cropper(n_jobs=2), paths, originals)
    for a, b in zip(serial, parallel):
        assert a.meta == b.meta
        np.testing.assert_array_equal(a.crops, b.crops)


def test_extract_pairs_bad_originals_length(dfdc5):
    with pytest.raises(ValueError, match="originals has 1 entries for 2 videos"):
        extract_pairs(_cropper(), dfdc5.paths[:2], [None])


def test_face_cropper_pairs_metadata_in_a_pipeline(dfdc5, count_detection):
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline

    data = dfdc5
    pipe = make_pipeline(
        FrameSampler(), FaceCropper(size=32, device="cpu", pairs="metadata")
    )
    tracks = clone(pipe).fit_transform(data.paths)
    reals = [p for p, t in zip(data.paths, data.target) if t == 0]
    assert sorted(count_detection["videos"]) == sorted(reals)
    expected = extract_pairs(_cropper(), data.paths, data.originals)
    for a, b in zip(tracks, expected):
        assert a.meta == b.meta
        np.testing.assert_array_equal(a.crop_boxes, b.crop_boxes)
        np.testing.assert_array_equal(a.crops, b.crops)


def test_face_cropper_pairs_invalid():
    with pytest.raises(ValueError, match="'pairs' parameter of FaceCropper must be"):
        FaceCropper(pairs="original").fit()


def test_cli_extract_with_pairs_detects_on_originals_only(
    dfdc5, tmp_path, count_detection
):
    import contextlib
    import io

    from sklearn_deepfake.cli import main

    store = tmp_path / "store"
    argv = [
        "extract", *dfdc5.paths, "--cache", str(store), "--device", "cpu",
        "--n-frames", "8", "--set", "facecropper__size=32",
        "facecropper__pairs=metadata",
    ]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(argv) == 0, out.getvalue()
    reals = [p for p, t in zip(dfdc5.paths, dfdc5.target) if t == 0]
    assert sorted(count_detection["videos"]) == sorted(reals)
    assert f"{len(dfdc5.paths)} new record(s)" in out.getvalue()
