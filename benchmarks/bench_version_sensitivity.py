"""How much the installed OpenCV moves two test figures (issue 20).

OpenCV 5 interpolates ``warpAffine`` / ``remap`` (bilinear) at the exact
sub-pixel position; OpenCV 4 rounds the position to 1/32 px first. The
synthetic videos of :func:`~sklearn_deepfake.datasets.make_face_videos` are
drawn with those warps, so the same ``random_state`` gives slightly different
pixels under the two majors, and every figure measured on them moves. This
script measures, under whatever OpenCV is installed:

- ``warp``: the largest deviation of ``cv2.warpAffine`` (bilinear, float32
  image) from exact bilinear interpolation (``scipy.ndimage``);
- ``landmarks``: for each ``random_state``, dlib's 68 points of the 8 faces
  of ``tests/test_landmarks.py``'s fixture before and after shrinking each
  face to 0.8 and shifting it by (10, 6) inside its crop: the points' error
  (median, 95th percentile, maximum, pixels), the RMS change of the
  ``FaceShapeFeatures`` row per face (median, maximum) and that median over
  the median distance between two different faces;
- ``video_cnn`` (with ``--video-cnn``, minutes): the held-out log loss and
  the held-out twin pairs whose fake scores above its real twin, for the
  ``i3d_r18`` net of ``tests/test_video_cnn.py``'s held-out test, for true
  labels and for labels swapped in a random half of the pairs (control).

Compare two OpenCV majors by running it twice, e.g. with an older OpenCV put
in front of the installed one::

    python benchmarks/bench_version_sensitivity.py
    pip install --no-deps --target /tmp/cv4 opencv-python-headless==4.14.0.94
    PYTHONPATH=/tmp/cv4 python benchmarks/bench_version_sensitivity.py

Each run writes ``benchmarks/results/version_sensitivity_opencv<MAJOR>.json``
with ``benchmarks/_results.py`` (command, date, machine, package versions,
inputs, outputs; the ``PYTHONPATH`` that swapped a package in, and the
versions of every package listed here, are among the inputs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results

PACKAGES = [
    "numpy", "scipy", "scikit-learn", "torch", "torchvision", "opencv-python-headless",
    "av", "dlib-bin", "facenet-pytorch", "skorch", "timm",
]  # fmt: skip


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    import cv2

    out["cv2 (imported)"] = cv2.__version__
    return out


def warp_deviation() -> float:
    """Largest |cv2.warpAffine - exact bilinear| on a random float32 image."""
    import cv2
    from scipy.ndimage import map_coordinates

    rng = np.random.default_rng(0)
    img = rng.random((144, 192)).astype(np.float32)
    mat = np.array([[0.93, 0.05, 3.3], [-0.04, 0.97, 2.1]])
    got = cv2.warpAffine(
        img, mat.astype(np.float32), (192, 144), flags=cv2.INTER_LINEAR
    )
    inv = np.linalg.inv(np.vstack([mat, [0, 0, 1]]))
    yy, xx = np.mgrid[0:144, 0:192].astype(float)
    sx = inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]
    sy = inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]
    exact = map_coordinates(img.astype(float), [sy, sx], order=1)
    inside = (sx >= 1) & (sx < 190) & (sy >= 1) & (sy < 142)
    return float(np.abs(got - exact)[inside].max())


def landmarks(random_state: int) -> dict[str, float]:
    """The moved-face figures of tests/test_landmarks.py for one data seed."""
    import cv2

    from sklearn_deepfake.datasets import make_face_videos
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.features import FaceShapeFeatures, face_boxes_in_crop
    from sklearn_deepfake.features._landmarks import default_model_path, landmarks68
    from sklearn_deepfake.video import FrameSampler

    with tempfile.TemporaryDirectory() as tmp:
        videos = make_face_videos(
            n_videos=4, manipulated=0.5, directory=tmp, random_state=random_state
        )
        plans = FrameSampler(4).fit_transform(videos.paths[:2])
        tracks = FaceCropper(size=128, device="cpu").fit_transform(plans)
    est = FaceShapeFeatures().fit(tracks)
    feats = est.transform(tracks)
    mat = np.float32([[0.8, 0, 10], [0, 0.8, 6]])
    px, change = [], []
    for t, f in zip(tracks, feats):
        boxes = face_boxes_in_crop(t)
        crops = np.stack([cv2.warpAffine(c, mat, (128, 128)) for c in t.crops])
        moved_boxes = boxes * 0.8 + [10, 6, 10, 6]
        base = landmarks68(t.crops, boxes, default_model_path())
        moved = landmarks68(crops, moved_boxes, default_model_path())
        px.append(np.abs(moved - (base * 0.8 + [10, 6])).ravel())
        change.append(
            np.sqrt(((est._compute(crops, moved_boxes) - f) ** 2).mean(axis=1))
        )
    px_all, ch = np.concatenate(px), np.concatenate(change)
    all_f = np.concatenate(feats)
    between = np.sqrt(((all_f[:, None] - all_f[None]) ** 2).mean(axis=2))
    between = between[np.triu_indices(len(all_f), 1)]
    return {
        "random_state": random_state,
        "n_faces": len(ch),
        "px_error_median": float(np.median(px_all)),
        "px_error_p95": float(np.percentile(px_all, 95)),
        "px_error_max": float(px_all.max()),
        "feature_change_median": float(np.median(ch)),
        "feature_change_max": float(ch.max()),
        "median_change_over_median_between_faces": float(
            np.median(ch) / np.median(between)
        ),
    }


def video_cnn(seeds: list[int]) -> list[dict]:
    """Held-out figures of tests/test_video_cnn.py's I3D test, with a control."""
    import torch
    from sklearn.metrics import log_loss
    from sklearn.model_selection import GroupShuffleSplit

    from sklearn_deepfake.datasets import make_face_videos
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.nets import VideoCNNClassifier
    from sklearn_deepfake.video import FrameSampler

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        bunch = make_face_videos(
            n_videos=32, manipulated=0.5, manipulation="blend", frame_size=(192, 144),
            n_frames=8, directory=tmp, random_state=0,
        )  # fmt: skip
        plans = FrameSampler(8).fit_transform(bunch.paths)
        tracks = FaceCropper(size=32, device="cpu").fit_transform(plans)
    target, groups = np.asarray(bunch.target), np.asarray(bunch.groups)
    y = np.where(target == 1, "FAKE", "REAL")
    split = GroupShuffleSplit(1, test_size=0.34, random_state=0)
    train, test = next(split.split(tracks, y, groups))
    shuffled = y[train].copy()
    rng = np.random.default_rng(0)
    for g in np.unique(groups[train]):
        pair = np.flatnonzero(groups[train] == g)
        if rng.random() < 0.5:
            shuffled[pair] = shuffled[pair[::-1]]
    out = []
    for labels_name, labels in (("true", y[train]), ("control", shuffled)):
        for seed in seeds:
            torch.manual_seed(0)
            clf = VideoCNNClassifier(
                "i3d_r18", clip_len=4, stride=4, size=32, clips_per_video=2,
                max_epochs=8, batch_size=8, lr=3e-3, augment=False, valid_size=0.0,
                device="cpu", random_state=seed, verbose=0,
            )  # fmt: skip
            clf.fit([tracks[i] for i in train], labels)
            p_train = clf.predict_proba([tracks[i] for i in train])
            proba = clf.predict_proba([tracks[i] for i in test])
            p_fake = proba[:, list(clf.classes_).index("FAKE")]
            wins = 0
            for g in np.unique(groups[test]):
                fake = (groups[test] == g) & (y[test] == "FAKE")
                real = (groups[test] == g) & (y[test] == "REAL")
                wins += int(p_fake[fake][0] > p_fake[real][0])
            out.append(
                {
                    "labels": labels_name,
                    "random_state": seed,
                    "train_log_loss_on_fitted_labels": float(
                        log_loss(labels, p_train, labels=clf.classes_)
                    ),
                    "held_out_log_loss": float(
                        log_loss(y[test], proba, labels=clf.classes_)
                    ),
                    "held_out_pairs_won": wins,
                    "held_out_pairs": len(np.unique(groups[test])),
                }
            )
            print(json.dumps(out[-1]), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4,5", help="data seeds (landmarks)")
    parser.add_argument("--video-cnn", action="store_true", help="also the I3D test")
    parser.add_argument("--net-seeds", default="0,1,2", help="net seeds (video CNN)")
    parser.add_argument("--out", default=None, help="results file")
    args = parser.parse_args(argv)
    import cv2

    t0 = time.time()
    inputs = {
        "pythonpath": os.environ.get("PYTHONPATH"),
        "packages": _versions(),
        "seeds": args.seeds,
        "video_cnn": args.video_cnn,
        "net_seeds": args.net_seeds,
    }
    outputs: dict = {"warp_max_deviation_from_exact_bilinear": warp_deviation()}
    print(json.dumps(outputs), flush=True)
    outputs["landmarks"] = []
    for s in (int(v) for v in args.seeds.split(",")):
        outputs["landmarks"].append(landmarks(s))
        print(json.dumps(outputs["landmarks"][-1]), flush=True)
    if args.video_cnn:
        outputs["video_cnn"] = video_cnn([int(v) for v in args.net_seeds.split(",")])
    outputs["seconds"] = round(time.time() - t0, 1)
    major = cv2.__version__.split(".")[0]
    path = Path(
        args.out
        or Path(__file__).parent / "results" / f"version_sensitivity_opencv{major}.json"
    )
    path = write_results(path.stem, inputs=inputs, outputs=outputs, folder=path.parent)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
