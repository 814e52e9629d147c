"""dlib face descriptors against the default features, leaving one family out.

Four manipulation families: ``dfl-pairs`` (DeepFaceLive swaps, 40 pairs),
FaceForensics++ c23 ``Deepfakes``, ``Face2Face`` and ``FaceSwap``
(``ffpp-c23``, 58 clips). Each fold holds one family out: its fakes and the
real videos of the identity groups they belong to are the test set; the
training set is every video of the other groups except that family's fakes
(so nothing of the held-out identities and nothing of the held-out method is
seen). Groups: ``swap_face`` for dfl-pairs (a real clip joins its fake twin),
the identity components of :func:`load_faceforensics` for FF++.

Recipes, all ending in ``TemporalPooling`` -> ``StandardScaler`` ->
``LogisticRegression(C=0.1)``; no parameter is tuned:

- ``default``: ``FaceContextFeatures``, mean pooling (the ``default``
  preset's features and head).
- ``facerec``: ``FaceRecognitionEmbeddings(parts=("face",), identity=False)``,
  mean and std pooling.
- ``facerec+id``: ``parts=("face", "outer")`` with the identity columns
  (drift, face-outer distance), mean and std pooling.
- ``id-only``: the identity columns alone (drift, face-outer distance).
- ``faceres``: ``CNNFeatureExtractor("hse_faceres", pretrained=True)``
  (HSE FaceRes 1024-d descriptors of the crops resized to 224 px), mean and
  std pooling.
- ``antispoof``: ``CNNFeatureExtractor("hse_antispoof_score",
  pretrained=True)`` (one column: the logit of human's "computer-generated
  face" classifier), mean and std pooling.
- ``antispoof-128``: its 128-d hidden layer (``"hse_antispoof"``), mean and
  std pooling.
- ``dlib+faceres``: the ``facerec`` and ``faceres`` columns side by side.
- ``dlib+faceres+antispoof``: with the ``antispoof`` columns too.

Faces are cropped once per video, cached with the features in ``--cache``
(and in the face store ``--store`` when given)
(``FrameSampler(n_frames)`` -> ``FaceCropper(size=128)``,
the default preset's crop; 16 frames rather than its 32, to keep this cheap
on shared CPUs) and every recipe reads the same crops. Reported: AUC and log
loss per held-out family and over all folds' predictions pooled, with 95%
bootstrap intervals over groups (1000 draws).

    python benchmarks/bench_face_identity.py [--n-frames 16] [--cache /tmp/fi] \
        [--store /work/cache/skdf_store]

Needs ../shared/data. Writes benchmarks/results/bench_face_identity.json.
"""

from __future__ import annotations

import argparse
import csv
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _results import shared_data_dir, write_results  # noqa: E402

SHARED = shared_data_dir()
FAMILIES = ("dfl-pairs", "Deepfakes", "Face2Face", "FaceSwap")


def _dataset():
    from sklearn_deepfake.datasets import load_faceforensics

    rows = []  # (path, target, family, group key)
    root = SHARED / "dfl-pairs"
    with open(root / "clips.csv", newline="") as f:
        for r in csv.DictReader(f):
            folder = "test_videos" if r["split"] == "test" else "train_sample_videos"
            rows.append(
                (
                    os.fspath(root / folder / r["filename"]),
                    int(r["label"] == "FAKE"),
                    "dfl-pairs" if r["label"] == "FAKE" else "dfl-real",
                    "dfl:" + r["swap_face"],
                )
            )
    ff = load_faceforensics(SHARED / "ffpp-c23")
    for p, t, m, g in zip(ff.paths, ff.target, ff.method, ff.groups):
        rows.append((p, int(t), "ffpp-real" if m == "original" else m, f"ff:{g}"))
    return rows


def _key(path: str) -> str:
    """Cache name of a video: its path below the shared folder."""
    return (
        Path(path).resolve().relative_to(SHARED.resolve()).as_posix().replace("/", "__")
    )


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _features(paths, n_frames, cache: Path, store: Path | None):
    """Per-frame features of every video, cached per video (tracks too).

    A cached video missing some of the features gets only those computed.
    """
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.features import (
        CNNFeatureExtractor,
        FaceContextFeatures,
        FaceRecognitionEmbeddings,
    )
    from sklearn_deepfake.video import FrameSampler

    cache = cache / f"frames{n_frames}"
    cache.mkdir(parents=True, exist_ok=True)
    sampler = FrameSampler(n_frames=n_frames).fit(paths)
    cropper = FaceCropper(size=128, device="cpu", cache_dir=store).fit(None)
    facerec = FaceRecognitionEmbeddings(parts=("face", "outer")).fit([])
    steps = {
        "context": FaceContextFeatures().fit([]),
        "facerec_all": facerec,
        **{
            key: CNNFeatureExtractor(backbone, pretrained=True, device="cpu").fit(None)
            for key, backbone in (
                ("faceres", "hse_faceres"),
                ("antispoof", "hse_antispoof_score"),
                ("antispoof128", "hse_antispoof"),
            )
        },
    }
    out = []
    for k, p in enumerate(paths):
        f_feat = cache / f"feat_{_key(p)}.pkl"
        feats = pickle.loads(f_feat.read_bytes()) if f_feat.is_file() else {}
        missing = [key for key in steps if key not in feats]
        if missing:
            f_tracks = cache / f"tracks_{_key(p)}.pkl"
            if f_tracks.is_file():
                t = pickle.loads(f_tracks.read_bytes())
            else:
                t = cropper.transform(sampler.transform([p]))[0]
                _write_atomic(f_tracks, pickle.dumps(t))
            for key in missing:
                feats[key] = steps[key].transform([t])[0]
            _write_atomic(f_feat, pickle.dumps(feats))
            print(f"features {k + 1}/{len(paths)} {p}: {missing}", flush=True)
        out.append(feats)
    return out, list(facerec.feature_names_)


def _bootstrap(y, p, groups, rng, n=1000):
    from sklearn.metrics import log_loss, roc_auc_score

    uniq = np.unique(groups)
    idx = {g: np.flatnonzero(groups == g) for g in uniq}
    aucs, lls = [], []
    for _ in range(n):
        take = np.concatenate([idx[g] for g in rng.choice(uniq, len(uniq))])
        if len(np.unique(y[take])) < 2:
            continue
        aucs.append(roc_auc_score(y[take], p[take]))
        lls.append(log_loss(y[take], p[take], labels=[0, 1]))
    return (
        [float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5))],
        [float(np.percentile(lls, 2.5)), float(np.percentile(lls, 97.5))],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-frames", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/bench_face_identity"))
    parser.add_argument("--store", type=Path, default=None, help="FaceStore folder")
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_deepfake.features import TemporalPooling

    t0 = time.time()
    rows = _dataset()
    paths = [r[0] for r in rows]
    y = np.array([r[1] for r in rows])
    family = np.array([r[2] for r in rows])
    groups = np.array([r[3] for r in rows])
    per_video, names = _features(paths, args.n_frames, args.cache, args.store)
    frame_feats = {k: [v[k] for v in per_video] for k in per_video[0]}
    face_cols = [
        i for i, n in enumerate(names) if n.startswith("face_") and n[5:].isdigit()
    ]
    id_cols = [i for i, n in enumerate(names) if n.endswith(("_drift", "_dist"))]
    t_feat = time.time() - t0

    def pooled(key, cols, stats):
        x = frame_feats[key]
        if cols is not None:
            x = [a[:, cols] for a in x]
        return TemporalPooling(stats=stats).fit_transform(x)

    X = {
        "default": pooled("context", None, ("mean",)),
        "facerec": pooled("facerec_all", face_cols, ("mean", "std")),
        "facerec+id": pooled("facerec_all", None, ("mean", "std")),
        "id-only": pooled("facerec_all", id_cols, ("mean", "std")),
        "faceres": pooled("faceres", None, ("mean", "std")),
        "antispoof": pooled("antispoof", None, ("mean", "std")),
        "antispoof-128": pooled("antispoof128", None, ("mean", "std")),
    }
    X["dlib+faceres"] = np.hstack([X["facerec"], X["faceres"]])
    X["dlib+faceres+antispoof"] = np.hstack([X["dlib+faceres"], X["antispoof"]])
    fake_family = {f: family == f for f in FAMILIES}
    rng = np.random.default_rng(0)
    results = {}
    for recipe, x in X.items():
        pooled_y, pooled_p, pooled_g, per = [], [], [], {}
        for fam in FAMILIES:
            test_groups = np.unique(groups[fake_family[fam]])
            in_test_groups = np.isin(groups, test_groups)
            test = in_test_groups & ((y == 0) | fake_family[fam])
            train = ~in_test_groups & ~fake_family[fam]
            model = make_pipeline(
                StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)
            )
            model.fit(x[train], y[train])
            p = np.clip(model.predict_proba(x[test])[:, 1], 0.01, 0.99)
            auc_ci, ll_ci = _bootstrap(y[test], p, groups[test], rng)
            per[fam] = {
                "n_train": int(train.sum()),
                "n_test": int(test.sum()),
                "n_test_fake": int(y[test].sum()),
                "n_test_groups": len(test_groups),
                "auc": float(roc_auc_score(y[test], p)),
                "auc_ci95": auc_ci,
                "log_loss": float(log_loss(y[test], p, labels=[0, 1])),
                "log_loss_ci95": ll_ci,
            }
            pooled_y.append(y[test])
            pooled_p.append(p)
            pooled_g.append(groups[test])
        py, pp, pg = map(np.concatenate, (pooled_y, pooled_p, pooled_g))
        auc_ci, ll_ci = _bootstrap(py, pp, pg, rng)
        per["all (pooled folds)"] = {
            "auc": float(roc_auc_score(py, pp)),
            "auc_ci95": auc_ci,
            "log_loss": float(log_loss(py, pp, labels=[0, 1])),
            "log_loss_ci95": ll_ci,
        }
        results[recipe] = per
        print(
            recipe,
            {k: (round(v["auc"], 3), round(v["log_loss"], 3)) for k, v in per.items()},
        )

    lines = [
        "| recipe | held out | AUC [95% CI] | log loss [95% CI] |",
        "|---|---|---|---|",
    ]
    for recipe, per in results.items():
        for fam, r in per.items():
            lines.append(
                f"| {recipe} | {fam} | {r['auc']:.2f} [{r['auc_ci95'][0]:.2f}, "
                f"{r['auc_ci95'][1]:.2f}] | {r['log_loss']:.3f} "
                f"[{r['log_loss_ci95'][0]:.3f}, {r['log_loss_ci95'][1]:.3f}] |"
            )
    table = "\n".join(lines)
    print(table)
    write_results(
        "bench_face_identity",
        inputs={
            "videos": [_key(p) for p in paths],
            "families": FAMILIES,
            "n_frames": args.n_frames,
            "crop": "FrameSampler(n_frames) -> FaceCropper(size=128, device='cpu')",
            "face backbones": "CNNFeatureExtractor(NAME, pretrained=True), "
            "input_size=None (FaceRes 224 px, antispoof 128 px)",
            "head": "StandardScaler -> LogisticRegression(C=0.1), "
            "P clipped to [0.01, 0.99]",
            "bootstrap": "1000 draws of groups with replacement, percentile 2.5/97.5",
        },
        outputs={
            "results": results,
            "seconds_features_uncached_part": round(t_feat, 1),
        },
        markdown=table,
    )


if __name__ == "__main__":
    main()
