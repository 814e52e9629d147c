import dataclasses
import os
import pickle
import shutil
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline

import sklearn_deepfake.faces._store as store_mod
from sklearn_deepfake.cli import main
from sklearn_deepfake.exceptions import NoFaceWarning, StoreCorruptionError
from sklearn_deepfake.faces import FaceCropper, FaceStore, LazyFaceTracks
from sklearn_deepfake.faces._store import content_key
from sklearn_deepfake.features import FaceContextFeatures, TemporalPooling
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.video import FrameSampler

pytestmark = pytest.mark.slow  # real MTCNN on real frames

_ARRAYS = [
    "frame_indices",
    "face_found",
    "crops",
    "boxes",
    "crop_boxes",
    "probs",
    "landmarks",
    "track_ids",
    "frame_pos",
    "detected",
]


def _copy_videos(videos, folder, n=None):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for p in list(videos.paths)[:n]:
        dst = folder / Path(p).name
        shutil.copy2(p, dst)
        out.append(str(dst))
    return out


def _extract(paths, store, **params):
    plans = FrameSampler(n_frames=8).fit_transform(paths)
    params = {"size": 32, "device": "cpu", "cache_dir": store, **params}
    return FaceCropper(**params).fit().transform(plans)


def _assert_same(a, b):
    for name in _ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), name)
    assert a.frame_size == b.frame_size
    assert a.fps == b.fps
    assert a.error == b.error


class _CountCrops:
    """Count the videos that FaceCropper really decodes."""

    def __init__(self, monkeypatch):
        self.paths = []
        real = FaceCropper._crop_one

        def counting(cropper, plan):
            self.paths.append(os.path.basename(plan.path))
            return real(cropper, plan)

        monkeypatch.setattr(FaceCropper, "_crop_one", counting)


def test_face_store_rejects_bad_options(tmp_path):
    with pytest.raises(ValueError, match="crop_format"):
        FaceStore(tmp_path, crop_format="gif")
    with pytest.raises(ValueError, match="jpeg_quality"):
        FaceStore(tmp_path, jpeg_quality=0)


def test_content_key_ignores_name_and_mtime(tmp_path):
    a = tmp_path / "a.bin"
    a.write_bytes(os.urandom(1 << 20))
    b = tmp_path / "sub" / "b.bin"
    b.parent.mkdir()
    shutil.copy(a, b)
    os.utime(b, ns=(1, 1))
    assert content_key(a) == content_key(b)
    data = bytearray(b.read_bytes())
    data[0] ^= 1
    b.write_bytes(bytes(data))
    assert content_key(a) != content_key(b)


def test_moved_dataset_reextracts_nothing(tiny_videos, tmp_path, monkeypatch):
    paths = _copy_videos(tiny_videos, tmp_path / "data")
    store = FaceStore(tmp_path / "store")
    first = _extract(paths, store)
    assert all(isinstance(t, LazyFaceTracks) for t in first)
    stamps = {p: p.stat().st_mtime_ns for p in Path(store.root).glob("*/*.skdf")}
    assert len(stamps) == len(paths)

    shutil.move(tmp_path / "data", tmp_path / "moved")
    moved = [str(tmp_path / "moved" / Path(p).name) for p in paths]
    counter = _CountCrops(monkeypatch)

    def no_hashing(path):
        raise AssertionError("hashed a whole file although its mtime is known")

    monkeypatch.setattr(store_mod, "full_hash", no_hashing)
    second = _extract(moved, store)
    assert counter.paths == []
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    for a, b, path in zip(first, second, moved):
        assert b.path == path  # the record answers under its new path
        _assert_same(a, b)
    # The new place is remembered: nothing counts as gone.
    assert store.info()["gone"] == []


def test_changed_byte_reextracts_that_file_only(tiny_videos, tmp_path, monkeypatch):
    # Small sampled blocks, so that one changed byte can miss all of them.
    monkeypatch.setattr(store_mod, "_BLOCK", 256)
    paths = _copy_videos(tiny_videos, tmp_path / "data", n=2)
    store = FaceStore(tmp_path / "store")
    _extract(paths, store)
    target = Path(paths[1])
    key_before = content_key(target)
    data = bytearray(target.read_bytes())
    size = len(data)
    starts = np.linspace(0, size - 256, 10).astype(int)
    pos = (starts[4] + starts[5]) // 2  # between two sampled blocks
    assert all(not (s <= pos < s + 256) for s in starts)
    data[pos] ^= 0xFF
    target.write_bytes(bytes(data))
    os.utime(target, ns=(10**18, 10**18))
    assert content_key(target) == key_before  # the sampled blocks missed it

    counter = _CountCrops(monkeypatch)
    with warnings.catch_warnings():  # decoding may warn about the damaged byte
        warnings.simplefilter("ignore")
        _extract(paths, store)
    assert counter.paths == [target.name]
    counter.paths.clear()
    # Unchanged files whose mtime changed are hashed, found equal, kept.
    os.utime(paths[0], ns=(10**18, 10**18))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _extract(paths, store)
    assert counter.paths in ([], [target.name])  # target re-done if undecodable


@pytest.mark.parametrize("damage", ["truncate", "flip", "magic", "header"])
def test_corrupt_record_is_named_and_recomputed(tiny_videos, tmp_path, damage):
    paths = _copy_videos(tiny_videos, tmp_path / "data", n=1)
    store = FaceStore(tmp_path / "store")
    (ref,) = _extract(paths, store)
    ref = ref.load()
    (record,) = Path(store.root).glob("*/*.skdf")
    data = bytearray(record.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[-200] ^= 0x10  # inside the last sections
    elif damage == "magic":
        data[:8] = b"NOTMAGIC"
    else:
        data[20] ^= 0x01  # inside the JSON header
    record.write_bytes(bytes(data))
    assert list(store.verify()) == [record.stem]

    with pytest.warns(UserWarning, match="corrupt") as warned:
        (again,) = _extract(paths, store)
    message = next(str(w.message) for w in warned if "corrupt" in str(w.message))
    assert str(record) in message
    assert paths[0] in message
    _assert_same(ref, again)
    assert store.verify() == {}


def test_lazy_record_on_corrupt_file_raises_clear_error(tiny_videos, tmp_path):
    paths = _copy_videos(tiny_videos, tmp_path / "data", n=1)
    (lazy,) = _extract(paths, FaceStore(tmp_path / "store"))
    Path(lazy.record).write_bytes(b"garbage and more garbage")
    with pytest.raises(StoreCorruptionError, match="bad magic"):
        lazy.boxes
    os.unlink(lazy.record)
    with pytest.raises(FileNotFoundError, match="is gone"):
        lazy.boxes
    # No I/O for the small state.
    assert len(lazy) == lazy.n_rows
    assert lazy.crop_size == 32
    assert "LazyFaceTracks" in repr(lazy)


@pytest.mark.parametrize("crop_format", ["raw", "png", "jpeg"])
def test_lazy_records_match_in_memory_extraction(tiny_videos, tmp_path, crop_format):
    paths = list(tiny_videos.paths)
    eager = _extract(paths, None)
    lazy = _extract(paths, FaceStore(tmp_path, crop_format=crop_format))
    for e, z in zip(eager, lazy):
        assert isinstance(z, FaceTracks)
        assert type(z) is LazyFaceTracks
        assert len(pickle.dumps(z)) < 1024
        assert len(z) == len(e)
        assert z.crop_size == e.crop_size
        z2 = pickle.loads(pickle.dumps(z))
        assert joblib.hash(z2) == joblib.hash(z)
        for name in _ARRAYS:
            got = getattr(z2, name)
            assert not got.flags.writeable
            if name == "crops" and crop_format == "jpeg":
                assert np.abs(got.astype(int) - e.crops).mean() < 3
                continue
            np.testing.assert_array_equal(got, getattr(e, name), name)
        rows = np.arange(len(e))[::2]
        picked = z.crops_at(rows)
        assert picked.shape == (len(rows), e.crop_size, e.crop_size, 3)
        if crop_format != "jpeg":
            np.testing.assert_array_equal(picked, e.crops[rows])
            np.testing.assert_array_equal(z.crops_at(np.ones(len(e), bool)), e.crops)
            sub = z.select(rows)
            assert type(sub) is FaceTracks
            _assert_same(sub, e.select(rows))
            _assert_same(z.track(0), e.track(0))
            _assert_same(z.load(), e)
            with pytest.raises(IndexError):
                z.crops_at(np.ones(len(e) + 1, bool))
            with pytest.raises(IndexError):
                z.crops_at([len(e)])


def test_lazy_boxes_do_not_read_crops(tiny_videos, tmp_path, monkeypatch):
    (lazy,) = _extract(list(tiny_videos.paths)[:1], FaceStore(tmp_path))
    store_mod._LAST_CROPS.clear()
    read = []
    real = store_mod._read_section

    def spy(fh, record, header, start, name, **kw):
        read.append(name)
        return real(fh, record, header, start, name, **kw)

    monkeypatch.setattr(store_mod, "_read_section", spy)
    lazy.boxes
    assert read == ["boxes"]
    lazy.crops
    lazy.crops
    assert read == ["boxes", "crops"]


def test_face_less_video_is_stored_and_warns_on_hit(broken_videos, tmp_path):
    store = FaceStore(tmp_path)
    with pytest.warns(NoFaceWarning):
        (first,) = _extract([broken_videos["no_face"]], store)
    assert len(first) == 0
    assert len(store) == 1
    with pytest.warns(NoFaceWarning):
        (again,) = _extract([broken_videos["no_face"]], store)
    assert again.crops.shape == (0, 32, 32, 3)
    # Unreadable files are not stored.
    with pytest.warns(UserWarning, match="random_bytes"):
        _extract([broken_videos["random_bytes"]], store)
    assert len(store) == 1


def test_lazy_records_through_clone_memory_and_grouped_cv(tiny_videos, tmp_path):
    paths = list(tiny_videos.paths)
    y, groups = tiny_videos.target, tiny_videos.groups

    def pipe(cache_dir, memory=None):
        return Pipeline(
            [
                ("sampler", FrameSampler(n_frames=8)),
                ("faces", FaceCropper(size=32, device="cpu", cache_dir=cache_dir)),
                ("features", FaceContextFeatures()),
                ("pool", TemporalPooling()),
                ("clf", LogisticRegression()),
            ],
            memory=memory,
        )

    store = FaceStore(tmp_path / "store")
    memory = joblib.Memory(tmp_path / "memory", verbose=0)
    model = clone(pipe(store, memory))
    assert model.get_params()["faces__cache_dir"] == store
    lazy_scores = cross_val_score(model, paths, y, groups=groups, cv=GroupKFold(2))
    eager_scores = cross_val_score(
        pipe(None), paths, y, groups=groups, cv=GroupKFold(2)
    )
    np.testing.assert_allclose(lazy_scores, eager_scores)
    fitted = model.fit(paths, y)
    np.testing.assert_allclose(
        fitted.predict_proba(paths), pipe(None).fit(paths, y).predict_proba(paths)
    )
    cached = sum(1 for _ in (tmp_path / "memory").rglob("output.pkl"))
    assert cached >= 1
    # The memory cache holds the small lazy records, not the crops.
    biggest = max(p.stat().st_size for p in (tmp_path / "memory").rglob("*.pkl"))
    assert biggest < 64 * 1024
    pickle.loads(pickle.dumps(fitted))


def test_store_info_verify_prune_and_cache_command(tiny_videos, tmp_path, capsys):
    paths = _copy_videos(tiny_videos, tmp_path / "data", n=3)
    store = FaceStore(tmp_path / "store")
    lazy = _extract(paths, store)
    (Path(store.root) / lazy[0].key[:2] / ".x.tmp").write_bytes(b"stray")
    (Path(store.root) / lazy[0].key[:2] / "old.npz").write_bytes(b"legacy")
    info = store.info()
    assert info["n_records"] == len(store) == 3
    assert info["gone"] == []
    assert info["n_tmp"] == 1
    assert info["n_legacy"] == 1
    assert info["formats"] == {"raw": 3}
    assert info["bytes"] > 0
    assert sorted(store) == sorted(t.key for t in lazy) == store.keys()
    _assert_same(store.load(lazy[1].key), lazy[1])

    os.unlink(paths[0])  # its video is gone
    data = bytearray(Path(lazy[1].record).read_bytes())
    data[-100] ^= 0x01
    Path(lazy[1].record).write_bytes(bytes(data))
    assert store.info()["gone"] == [lazy[0].key]
    assert list(store.verify()) == [lazy[1].key]

    assert main(["cache", "info", store.root]) == 0
    out = capsys.readouterr().out
    assert "3 record(s)" in out
    assert "records whose video is gone: 1" in out
    assert main(["cache", "verify", store.root]) == 1
    out = capsys.readouterr().out
    assert "checksum failures: 1" in out
    assert lazy[1].key in out
    assert main(["cache", "prune", "--dry-run", store.root]) == 0
    assert "would remove 1 record(s) and 3 other file(s)" in capsys.readouterr().out
    assert len(store) == 3
    assert main(["cache", "prune", store.root]) == 0
    assert "removed 1 record(s)" in capsys.readouterr().out
    assert sorted(store) == sorted(t.key for t in lazy[1:])
    assert store.info()["n_tmp"] == 0
    assert store.info()["n_legacy"] == 0
    assert main(["cache", "info", str(tmp_path / "nowhere")]) == 2


def test_parallel_fill_gives_the_serial_records(tiny_videos, tmp_path):
    paths = list(tiny_videos.paths)
    serial = FaceStore(tmp_path / "serial")
    _extract(paths, serial)
    shared = FaceStore(tmp_path / "shared")
    # Every video twice: two workers write the same records concurrently.
    both = _extract(paths + paths[::-1], shared, n_jobs=2)
    assert all(isinstance(t, LazyFaceTracks) for t in both)
    assert sorted(shared) == sorted(serial)
    for key in serial:
        a, b = serial.load(key), shared.load(key)
        for f in dataclasses.fields(a):
            if isinstance(getattr(a, f.name), np.ndarray):
                np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name))
    assert not list(Path(shared.root).rglob("*.tmp"))


def test_lazy_record_replace_and_rewritten_record(tiny_videos, tmp_path):
    paths = list(tiny_videos.paths)[:2]
    store = FaceStore(tmp_path)
    a, b = _extract(paths, store)
    swapped = dataclasses.replace(a, crops=b.crops[: len(a)], error="x")
    assert type(swapped) is FaceTracks
    assert swapped.error == "x"
    np.testing.assert_array_equal(swapped.boxes, a.boxes)
    # The one-slot crop cache notices a record rewritten in place.
    first = a.crops
    other = dataclasses.replace(a.load(), crops=255 - a.load().crops)
    replaced = store.put(
        paths[0],
        FrameSampler(n_frames=8).fit_transform(paths)[0].indices,
        {"other": 1},
        other,
    )
    os.replace(replaced.record, a.record)
    np.testing.assert_array_equal(a.crops, 255 - first)
    np.testing.assert_array_equal(a.crops_at([0]), 255 - first[:1])


def test_store_write_failure_keeps_the_faces(tiny_videos, tmp_path, monkeypatch):
    def disk_full(path, chunks):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod, "_atomic_write", disk_full)
    with pytest.warns(UserWarning, match="could not be written to the face store"):
        (t,) = _extract(list(tiny_videos.paths)[:1], FaceStore(tmp_path))
    assert type(t) is FaceTracks
    assert len(t) > 0
    assert t.error is None


def test_relative_store_root_survives_chdir(tiny_videos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (t,) = _extract(list(tiny_videos.paths)[:1], "faces")
    monkeypatch.chdir("/")
    assert t.root == str(tmp_path / "faces")
    assert t.boxes.shape == (len(t), 4)


def _store_contract_params():
    from sklearn_deepfake.utils._testing import contract_checks

    for check in contract_checks(FaceCropper()):
        yield pytest.param(check, id=check.__name__)


@pytest.mark.parametrize("check", list(_store_contract_params()))
def test_store_backed_cropper_keeps_the_contract(check, tiny_videos, tmp_path):
    from sklearn_deepfake.utils._testing import make_contract_input

    cropper = FaceCropper(size=32, device="cpu", cache_dir=FaceStore(tmp_path))
    X, y = make_contract_input(cropper, tiny_videos.paths)
    check("FaceCropper", cropper, X, y)
