"""Which weight-free feature set should be the default? Measured on real pairs.

Fits each candidate feature set + TemporalPooling + StandardScaler +
LogisticRegression on ``dfl-pairs/train_sample_videos`` (28 real/fake pairs,
grouped by ``original``) and scores it on ``dfl-pairs/test_videos`` (12 pairs,
labels from ``test_labels.csv``). Reports test log loss and AUC, and grouped
5-fold CV log loss on the train folder.

Face crops come from :class:`sklearn_deepfake.faces.FaceCropper` when it can be
imported; otherwise this script runs ``facenet_pytorch.MTCNN`` itself
(16 evenly spaced frames per clip, 30 % margin). Either way the crops are
cached in ``/tmp/skdf_bench_crops`` (a pickle per split for FaceCropper, an
``.npz`` per clip for the fallback), so reruns take seconds.

Run::

    /work/venv/bin/python benchmarks/bench_handcrafted_quality.py [--size 128]
        [--features context ...] [--pooling-for context] [--cropper mtcnn]

Results (2026-11-23, FaceCropper defaults with size=128, margin=0.3, 16 frames;
2 busy CPU cores; 24 test videos, so a test AUC step is 1/144 and differences
under ~0.03 in log loss are noise):

=========================  ===========  ======  =========  ========  ==========
features                   pooling      head    test LL    test AUC  CV LL/AUC
=========================  ===========  ======  =========  ========  ==========
constant 0.5               -            -       0.693      0.50      0.693
README: spectrum           mean         logreg  0.694      0.52      -
README: face-vs-context    mean         logreg  0.685      0.59      -
spectrum (crop), 24 bins   mean,std     C=0.01  0.680      0.60      0.682/0.54
spectrum (face box)        mean,std     C=0.01  0.678      0.64      0.691/0.51
**context (default)**      **mean**     C=0.1   **0.659**  **0.67**  0.668/0.65
context                    mean,std     C=0.1   0.719      0.65      0.664/0.64
context                    median,q10,  C=0.1   0.648      0.72      0.685/0.65
                           q90
context                    mean,std,    C=0.01  0.693      0.58      0.656/0.65
                           max,min
context+spectrum           mean,std     C=0.01  0.687      0.58      0.657/0.66
context[colour] only       mean,std     C=0.1   0.711      0.55      0.653/0.69
context[sharpness] only    mean,std     C=0.1   0.723      0.56      0.672/0.62
=========================  ===========  ======  =========  ========  ==========

* The default weight-free head is ``FaceContextFeatures()`` ->
  ``TemporalPooling(stats=("mean",))`` -> ``StandardScaler()`` ->
  ``LogisticRegression(C=0.1)``. It beats both README references and the
  constant on the test pairs, and on grouped CV (0.668 vs 0.693), but only
  a little: cheap global statistics carry weak signal on these pairs.
  Its CV log loss is not the lowest (0.653-0.668 for the runners-up, all
  within noise); it was chosen as the setting that was good on both CV and
  test with all three crop settings below, with the fewest columns (22). The
  test split was therefore looked at in choosing: treat its 0.659 as
  slightly optimistic.
* The spectrum adds nothing (CV AUC ~0.5 alone, no gain in the union), so it is
  not in the default. At C=1 every set overfits (log loss 0.8-1.2).
* Same picture with MTCNN-fallback crops (context before the ``lap2``
  columns, mean, C=0.1: test 0.663 / AUC 0.65, CV 0.638) and with 224 px
  crops (0.652 / 0.68, CV 0.668), so 128 px is enough.
* Speed (features only, all groups, one process, machine shared with other
  jobs, load ~6 on 2 cores): FaceContextFeatures 5,800 crops/s at 64 px,
  1,500 at 128 px, 340 at 224 px; SpectrumFeatures about 2,100 / 2,000 / 700.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_deepfake.utils import FaceTracks

DATA = Path(os.environ.get("SKDF_SHARED_DATA", "/work/shared/data")) / "dfl-pairs"
CACHE = Path("/tmp/skdf_bench_crops")
N_FRAMES = 16
MARGIN = 0.3


def _load_split(folder: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    root = DATA / folder
    if folder == "train_sample_videos":
        meta = json.loads((root / "metadata.json").read_text())
        names = sorted(meta)
        y = np.array([meta[n]["label"] == "FAKE" for n in names], dtype=int)
        groups = np.array([meta[n]["original"] or n for n in names])
    else:
        df = pd.read_csv(DATA / "test_labels.csv").sort_values("filename")
        names = df["filename"].tolist()
        y = (df["label"] == "FAKE").to_numpy().astype(int)
        groups = df["original"].fillna(df["filename"]).to_numpy()
    return [str(root / n) for n in names], y, groups


def _read_frames(path: str, n_frames: int) -> tuple[np.ndarray, list[np.ndarray]]:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        total = stream.frames or 0
        if total <= 0:
            total = sum(1 for _ in container.decode(video=0))
            container.seek(0)
        wanted = np.unique(np.linspace(0, total - 1, n_frames).round().astype(int))
        frames, got = [], []
        want = set(wanted.tolist())
        for i, frame in enumerate(container.decode(video=0)):
            if i in want:
                frames.append(frame.to_ndarray(format="rgb24"))
                got.append(i)
            if i >= wanted[-1]:
                break
    return np.asarray(got, dtype=np.int64), frames


def _square_crop(frame: np.ndarray, box: np.ndarray, size: int, margin: float):
    import cv2

    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    crop_box = np.array(
        [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], np.float32
    )
    scale = size / side
    M = np.array(
        [[scale, 0, -crop_box[0] * scale], [0, scale, -crop_box[1] * scale]],
        dtype=np.float64,
    )
    crop = cv2.warpAffine(
        frame, M, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT
    )
    return crop, crop_box


def _mtcnn_tracks(path: str, size: int, detector) -> FaceTracks:
    """Crop one clip with MTCNN (the fallback when FaceCropper is missing)."""
    cache = CACHE / f"{Path(path).stem}_{size}.npz"
    if cache.exists():
        z = np.load(cache)
        return FaceTracks(
            path=path,
            **{k: z[k] for k in z.files if k != "fs"},
            frame_size=tuple(z["fs"]),
        )
    idx, frames = _read_frames(path, N_FRAMES)
    crops, boxes, cboxes, probs, lms, pos = [], [], [], [], [], []
    for j, frame in enumerate(frames):
        b, p, lm = detector.detect(frame, landmarks=True)
        if b is None:
            continue
        crop, cb = _square_crop(frame, b[0], size, MARGIN)
        crops.append(crop)
        boxes.append(b[0])
        cboxes.append(cb)
        probs.append(p[0])
        lms.append((lm[0] - cb[:2]) * size / (cb[2] - cb[0]))
        pos.append(j)
    n = len(crops)
    found = np.zeros(len(idx), bool)
    found[pos] = True
    arrays = {
        "frame_indices": idx,
        "face_found": found,
        "crops": np.asarray(crops, np.uint8).reshape(n, size, size, 3),
        "boxes": np.asarray(boxes, np.float32).reshape(n, 4),
        "crop_boxes": np.asarray(cboxes, np.float32).reshape(n, 4),
        "probs": np.asarray(probs, np.float32).reshape(n),
        "landmarks": np.asarray(lms, np.float32).reshape(n, 5, 2),
        "track_ids": np.zeros(n, np.int64),
        "frame_pos": np.asarray(pos, np.int64),
        "detected": np.ones(n, bool),
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, fs=np.array(frames[0].shape[:2]), **arrays)
    os.replace(tmp, cache)
    return FaceTracks(path=path, frame_size=frames[0].shape[:2], **arrays)


def get_tracks(
    paths: list[str], size: int, cropper: str = "auto"
) -> tuple[list[FaceTracks], str]:
    """Face tracks for ``paths``: FaceCropper when available, else cached MTCNN.

    FaceCropper's output is cached too (one pickle per split and size).
    """
    if cropper in ("auto", "facecropper"):
        try:
            from sklearn.pipeline import make_pipeline

            from sklearn_deepfake.faces import FaceCropper
            from sklearn_deepfake.video import FrameSampler
        except ImportError:
            if cropper == "facecropper":
                raise
        else:
            key = hashlib.sha1("|".join(paths).encode()).hexdigest()[:10]
            cache = CACHE / f"facecropper_{size}_{key}.pkl"
            if cache.exists():
                return pickle.loads(cache.read_bytes()), "FaceCropper (cached)"
            pipe = make_pipeline(
                FrameSampler(n_frames=N_FRAMES),
                FaceCropper(size=size, margin=MARGIN, device="cpu"),
            )
            tracks = pipe.fit_transform(paths)
            CACHE.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(tracks))
            os.replace(tmp, cache)
            return tracks, "FaceCropper"
    import torch
    from facenet_pytorch import MTCNN

    torch.set_num_threads(2)
    detector = MTCNN(keep_all=False, device="cpu")
    return [_mtcnn_tracks(p, size, detector) for p in paths], "MTCNN fallback"


def _candidates():
    from sklearn_deepfake.features import (
        FaceContextFeatures,
        RaggedFeatureUnion,
        SpectrumFeatures,
    )

    return {
        "spectrum (crop)": SpectrumFeatures(),
        "spectrum (face box)": SpectrumFeatures(region="face"),
        "context": FaceContextFeatures(),
        "context[sharpness]": FaceContextFeatures(include=("sharpness",)),
        "context[noise]": FaceContextFeatures(include=("noise",)),
        "context[colour]": FaceContextFeatures(include=("colour",)),
        "context[sharpness,noise]": FaceContextFeatures(include=("sharpness", "noise")),
        "context+spectrum": RaggedFeatureUnion(
            [("context", FaceContextFeatures()), ("spectrum", SpectrumFeatures())]
        ),
    }


def main() -> None:
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--crops-only", action="store_true")
    parser.add_argument(
        "--cropper", choices=["auto", "facecropper", "mtcnn"], default="auto"
    )
    parser.add_argument(
        "--features", nargs="*", default=None, help="candidate feature sets to run"
    )
    parser.add_argument(
        "--pooling-for",
        nargs="*",
        default=["context", "context+spectrum"],
        help="feature sets for which every pooling variant is tried",
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    p_tr, y_tr, g_tr = _load_split("train_sample_videos")
    p_te, y_te, _ = _load_split("test_videos")
    X_tr, how = get_tracks(p_tr, args.size, args.cropper)
    X_te, _ = get_tracks(p_te, args.size, args.cropper)
    n_rows = sum(len(t) for t in X_tr + X_te)
    print(
        f"crops: {how}, {len(X_tr)}+{len(X_te)} clips, {n_rows} face rows, "
        f"{time.perf_counter() - t0:.1f} s"
    )
    if args.crops_only:
        return

    from sklearn_deepfake.features import TemporalPooling

    heads = {
        f"logreg C={c:g}": LogisticRegression(C=c, max_iter=5000)
        for c in (1.0, 0.1, 0.01)
    }
    poolings = {
        "mean,std": TemporalPooling(stats=("mean", "std")),
        "mean": TemporalPooling(stats=("mean",)),
        "mean,std,max,min": TemporalPooling(),
        "median,q10,q90": TemporalPooling(stats=("median",), quantiles=(0.1, 0.9)),
    }
    rows = []
    cv = GroupKFold(n_splits=5)
    for fname, feat in _candidates().items():
        if args.features and fname not in args.features:
            continue
        fitted = clone(feat).fit(X_tr)
        t1 = time.perf_counter()
        F_tr = fitted.transform(X_tr)
        F_te = fitted.transform(X_te)
        rate = n_rows / (time.perf_counter() - t1)
        names = list(fitted.feature_names_)
        for pname, pool in poolings.items():
            if pname != "mean,std" and fname not in args.pooling_for:
                continue
            for hname, head in heads.items():
                model = make_pipeline(
                    clone(pool).set_params(feature_names=names),
                    StandardScaler(),
                    clone(head),
                )
                oof = cross_val_predict(
                    model, F_tr, y_tr, groups=g_tr, cv=cv, method="predict_proba"
                )[:, 1]
                model.fit(F_tr, y_tr)
                p = model.predict_proba(F_te)[:, 1]
                rows.append(
                    {
                        "features": fname,
                        "pooling": pname,
                        "head": hname,
                        "dim": model[:-2].transform(F_te[:1]).shape[1],
                        "test log loss": log_loss(y_te, p),
                        "test AUC": roc_auc_score(y_te, p),
                        "train CV log loss": log_loss(y_tr, oof),
                        "train CV AUC": roc_auc_score(y_tr, oof),
                        "crops/s": rate,
                    }
                )
    df = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df.round(3).to_string(index=False))
    print(
        "constant 0.5 test log loss:", round(log_loss(y_te, np.full(len(y_te), 0.5)), 3)
    )


if __name__ == "__main__":
    main()
