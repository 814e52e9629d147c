"""FaceCNNClassifier on real face swaps: test log loss and AUC against 0.5.

Fits ``FaceCNNClassifier`` (random initialisation: no weights can be
downloaded here) on the ``dfl-pairs`` training videos, with the source-video
groups for its internal validation split, and scores the test videos. Face
tracks come from the default pipeline's first two steps through the face
cache, so a rerun only trains. Writes ``benchmarks/results/bench_face_cnn_quality``
(``.json``, ``.md``): test log loss and AUC with grouped 95% intervals (groups of
``load_dfdc``'s test split).

Usage::

    python benchmarks/bench_face_cnn_quality.py [--data DIR] [--backbone resnet18]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import log_loss, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import interval, write_results

from sklearn_deepfake import load_dfdc, make_default_pipeline
from sklearn_deepfake.nets import FaceCNNClassifier

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
if not SHARED.is_dir():  # a worktree: the shared data of the main checkout
    SHARED = Path("/work/shared/data")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED / "dfl-pairs"))
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--input-size", type=int, default=112)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--cache", default="/tmp/skdf_cache")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(2)
    train = load_dfdc(args.data)
    test = load_dfdc(args.data, subset="test")
    faces = make_default_pipeline(n_frames=16, cache_dir=args.cache, device="cpu")
    faces = faces[:2]
    X_train, X_test = faces.fit_transform(train.paths), faces.transform(test.paths)
    print("constant 0.5: test log loss 0.693 AUC 0.50")
    rows = {}
    groups = np.asarray(test.groups)
    for augment in (False, True):
        t0 = time.perf_counter()
        clf = FaceCNNClassifier(
            args.backbone,
            input_size=args.input_size,
            max_epochs=args.epochs,
            augment=augment,
            frames_per_video=8,
            device="cpu",
            random_state=0,
        ).fit(X_train, train.target, groups=train.groups)
        p = clf.predict_proba(X_test)[:, 1]
        rows[f"augment={augment}"] = {
            "test_log_loss": log_loss(test.target, p),
            "test_auc": roc_auc_score(test.target, p),
            "test_log_loss_ci": interval(test.target, p, groups, "log_loss"),
            "test_auc_ci": interval(test.target, p, groups, "roc_auc"),
            "epochs_run": int(clf.n_epochs_),
            "best_epoch": int(clf.best_epoch_),
            "fit_s": time.perf_counter() - t0,
        }
        print(
            f"{args.backbone} random init, augment={augment}: test log loss "
            f"{log_loss(test.target, p):.3f} AUC {roc_auc_score(test.target, p):.2f}"
            f" (epochs run {clf.n_epochs_}, best {clf.best_epoch_},"
            f" {time.perf_counter() - t0:.0f} s)"
        )
    write_results(
        "bench_face_cnn_quality",
        inputs={
            **vars(args),
            "n_train": len(train.paths),
            "n_test": len(test.paths),
            "test_groups": len(np.unique(groups)),
            "init": "random",
        },
        outputs=rows,
        markdown="\n".join(
            [
                f"| {args.backbone} | test log loss | test AUC | epochs |",
                "|---|---|---|---|",
                *[
                    f"| {k} | {r['test_log_loss']:.3f} | {r['test_auc']:.2f} | "
                    f"{r['epochs_run']} |"
                    for k, r in rows.items()
                ],
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
