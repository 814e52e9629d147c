"""Data and cached per-frame features shared by the cross-method scripts.

Used by ``bench_cross_method.py`` (the benchmark) and ``train_general.py``
(the shipped model). Every video of ``../shared/data`` is sampled with
:data:`SAMPLER`, its faces are cropped once into a
:class:`~sklearn_deepfake.faces.FaceStore` (shared, safe for concurrent
writers) and every feature set is computed once per video and kept in a
per-video ``.npz`` written atomically, so that re-running a script costs
only the heads.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _results import shared_data_dir

REPO = Path(__file__).resolve().parents[1]
SHARED = shared_data_dir()
STORE = Path(os.environ.get("SKDF_STORE", "/work/cache/skdf_store"))
FEATURE_CACHE = Path(os.environ.get("SKDF_FEATURE_CACHE", "/work/cache/skdf_features"))
FAMILIES = ("dfl-pairs", "Deepfakes", "Face2Face", "FaceSwap")
#: Feature sets kept per video; ``sbi_*`` only for real videos (the same
#: features of one self-blended copy of its face tracks).
FEATURE_SETS = ("context", "swap", "facerec", "imagenet", "faceres")
SBI_SETS = ("context", "facerec", "imagenet", "faceres")
IMAGENET_STAGES = (1, 2, 3, 4)


def sampler_params(n_frames: int) -> dict:
    """Frame sampling of every script: pairs of consecutive frames."""
    return {"n_frames": n_frames, "strategy": "bursts", "burst_len": 2}


def dataset(real_only: bool = True, dfdc: bool = False) -> list[tuple]:
    """Rows ``(path, target, family, group)`` of the shared data.

    ``family`` is the manipulation for fakes and ``dfl-real`` /
    ``ffpp-real`` / ``real-only`` for reals; ``group`` is the swap face
    (dfl-pairs), the identity component (FF++) or the clip (real-only).
    """
    from sklearn_deepfake.datasets import load_faceforensics

    rows = []
    root = SHARED / "dfl-pairs"
    with open(root / "clips.csv", newline="") as f:
        for r in csv.DictReader(f):
            folder = "test_videos" if r["split"] == "test" else "train_sample_videos"
            fake = r["label"] == "FAKE"
            rows.append(
                (
                    os.fspath(root / folder / r["filename"]),
                    int(fake),
                    "dfl-pairs" if fake else "dfl-real",
                    "dfl:" + r["swap_face"],
                )
            )
    ff = load_faceforensics(SHARED / "ffpp-c23")
    for p, t, m, g in zip(ff.paths, ff.target, ff.method, ff.groups):
        rows.append((p, int(t), "ffpp-real" if m == "original" else m, f"ff:{g}"))
    if real_only:
        for p in sorted((SHARED / "real-only").glob("*.mp4")):
            rows.append((os.fspath(p), 0, "real-only", f"ro:{p.stem}"))
    if dfdc:
        for p in sorted((SHARED / "dfdc-1080p").glob("*.mp4")):
            rows.append((os.fspath(p), 1, "dfdc", f"dfdc:{p.stem}"))
    return rows


def key(path: str) -> str:
    """Cache name of a video: its path below the shared folder."""
    rel = Path(path).resolve().relative_to(SHARED.resolve()).as_posix()
    return rel.replace("/", "__")


def _save_atomic(path: Path, arrays: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _extractors():
    from sklearn_deepfake.features import (
        CNNFeatureExtractor,
        FaceContextFeatures,
        FaceRecognitionEmbeddings,
        FaceShapeFeatures,
        MTCNNEmbeddings,
        RaggedFeatureUnion,
        TemporalNoiseFeatures,
    )

    swap = RaggedFeatureUnion(
        [
            ("context", FaceContextFeatures()),
            ("mtcnn", MTCNNEmbeddings("rnet")),
            ("shape", FaceShapeFeatures()),
            ("noise", TemporalNoiseFeatures("dlib")),
        ]
    )
    facerec = FaceRecognitionEmbeddings(parts=("face", "inner", "outer"))
    faceres = CNNFeatureExtractor(
        "hse_faceres", pretrained=True, device="cpu", random_state=0
    )
    return {
        "context": FaceContextFeatures().fit([]),
        "swap": swap.fit([]),
        "facerec": facerec.fit([]),
        # EfficientNet-Lite0 (shipped ImageNet weights) on the 128-px crops:
        # the embedding, then the spatial mean and standard deviation of
        # stages 1-4 (24, 40, 112 and 320 channels), which keep the pixel
        # statistics that blending leaves
        "imagenet": CNNFeatureExtractor(
            "tf_efficientnet_lite0",
            pretrained=True,
            stages=IMAGENET_STAGES,
            device="cpu",
        ).fit([]),
        "faceres": faceres.fit([]),
    }


def _face_steps(n_frames: int) -> tuple:
    """The fitted sampler and store-backed cropper of every script."""
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    STORE.mkdir(parents=True, exist_ok=True)
    sampler = FrameSampler(**sampler_params(n_frames)).fit(None)
    cropper = FaceCropper(size=128, margin=0.3, cache_dir=STORE, device="cpu").fit(None)
    return sampler, cropper


def face_tracks(rows, n_frames: int) -> list:
    """Face tracks of every row's video, from the face store (cropped once)."""
    sampler, cropper = _face_steps(n_frames)
    return cropper.transform(sampler.transform([r[0] for r in rows]))


def _encode_crops(crops: np.ndarray) -> bytes:
    """The crops of one video as one lossless WebP (a column of crops)."""
    import cv2

    if not len(crops):
        return b""
    column = np.ascontiguousarray(crops.reshape(-1, crops.shape[2], 3)[..., ::-1])
    ok, buf = cv2.imencode(".webp", column, [cv2.IMWRITE_WEBP_QUALITY, 101])
    if not ok or not np.array_equal(_decode_crops(buf.tobytes(), crops.shape), crops):
        raise RuntimeError("lossless WebP did not round-trip the crops")
    return buf.tobytes()


def _decode_crops(data: bytes, shape: tuple) -> np.ndarray:
    import cv2

    if not data:
        return np.zeros(shape, np.uint8)
    column = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(column[..., ::-1]).reshape(shape)


def save_tracks_pack(rows, n_frames: int, path: str | os.PathLike) -> None:
    """Write the rows and their face tracks to one file (crops lossless).

    For a machine without ``../shared/data`` or the face store (a GPU
    machine that takes the repository and tens of MB): the ``ft-*`` rows of
    ``bench_cross_method.py --tracks-pack FILE`` read everything from it.
    Rows are stored with :func:`key` for their path; the crops as lossless
    WebP (checked to decode to the same pixels), the rest of each
    :class:`~sklearn_deepfake.utils.FaceTracks` as it is.
    """
    tracks = face_tracks(rows, n_frames)
    packed = []
    for t in tracks:
        fields = {f.name: getattr(t, f.name) for f in dataclasses.fields(t)}
        crops = fields.pop("crops")
        fields["path"] = key(t.path)
        packed.append((fields, crops.shape, _encode_crops(crops)))
    pack = {
        "n_frames": n_frames,
        "sampler": sampler_params(n_frames),
        "rows": [(key(r[0]), *r[1:]) for r in rows],
        "tracks": packed,
    }
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        pickle.dump(pack, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def load_tracks_pack(path: str | os.PathLike) -> tuple[int, list[tuple], list]:
    """``(n_frames, rows, tracks)`` of a :func:`save_tracks_pack` file.

    Each row's path is its :func:`key`. Only open packs you wrote: this
    unpickles.
    """
    from sklearn_deepfake.utils import FaceTracks

    with open(path, "rb") as f:
        pack = pickle.load(f)
    tracks = [
        FaceTracks(crops=_decode_crops(data, shape), **fields)
        for fields, shape, data in pack["tracks"]
    ]
    return pack["n_frames"], pack["rows"], tracks


def features(
    rows,
    n_frames: int,
    verbose: bool = True,
    *,
    root: Path | None = None,
    extractors: dict | None = None,
) -> list[dict]:
    """Per-frame feature arrays of every row's video (cached per video).

    Returns one dict per video (``context``, ``swap``, ``facerec``,
    ``imagenet``, ``faceres``, and for reals ``sbi_<set>`` of every set of
    :data:`SBI_SETS`). A cache file that lacks a set gets it added.
    ``root`` is the cache folder (default :data:`FEATURE_CACHE`);
    ``extractors`` replaces the fitted transformers of some sets (by name),
    for a cache of other features (``bench_faceres_deep.py``).
    """
    from sklearn_deepfake.nets import make_self_blended

    cache = (FEATURE_CACHE if root is None else root) / f"bursts{n_frames}"
    cache.mkdir(parents=True, exist_ok=True)
    sampler, cropper = _face_steps(n_frames)
    ext = None
    out = []
    t0 = time.time()
    for k, (path, target, _, _) in enumerate(rows):
        f = cache / f"{key(path)}.npz"
        feats = {}
        if f.is_file():
            with np.load(f) as z:
                feats = {n: z[n] for n in z.files}
        todo = [n for n in FEATURE_SETS if n not in feats]
        sbi_todo = [n for n in SBI_SETS if f"sbi_{n}" not in feats]
        if target != 0:
            sbi_todo = []
        if not todo and not sbi_todo:
            out.append(feats)
            continue
        if ext is None:
            ext = {**_extractors(), **(extractors or {})}
        tracks = cropper.transform(sampler.transform([path]))
        feats.update({n: ext[n].transform(tracks)[0] for n in todo})
        if sbi_todo:
            # the same seed: the same copy as the sets already cached
            sbi, _, _ = make_self_blended(
                tracks, [0], include_original=False, random_state=0
            )
            for n in sbi_todo:
                # no face: an empty copy
                feats[f"sbi_{n}"] = ext[n].transform(sbi)[0] if sbi else feats[n][:0]
        _save_atomic(f, feats)
        out.append(feats)
        if verbose:
            print(
                f"[{time.time() - t0:6.0f} s] features {k + 1}/{len(rows)} "
                f"{key(path)} ({len(tracks[0])} faces)",
                file=sys.stderr,
                flush=True,
            )
    return out


if __name__ == "__main__":  # extraction only: python benchmarks/_cross_method_data.py
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--n-frames", type=int, default=16)
    ap.add_argument("--dfdc", action="store_true")
    ap.add_argument(
        "--pack",
        default=None,
        help="write the rows and face tracks to this file instead "
        "(see save_tracks_pack)",
    )
    a = ap.parse_args()
    sys.path.insert(0, str(REPO))
    if a.pack:
        save_tracks_pack(dataset(dfdc=a.dfdc), a.n_frames, a.pack)
    else:
        features(dataset(dfdc=a.dfdc), a.n_frames)
