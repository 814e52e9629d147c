"""Cost of ``sklearn-deepfake fit --report-cv K``: features once against per fold.

On a synthetic DFDC folder (:func:`~sklearn_deepfake.datasets.make_dfdc_folder`)
whose faces are already in the face cache, times the grouped K-fold report two
ways on the default preset: cross-validating the whole pipeline (what ``fit``
did before: every fold computes the per-frame features again) and what it does
now (the label-free steps once, then K fits of the head). Both give the same
fold log losses, which the script checks. Writes
``benchmarks/results/bench_fit_report_<features>.json``.

Run: ``python benchmarks/bench_fit_report.py [--n-originals 6] [--k 3]
[--features context+mtcnn]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
# this checkout's package, whatever is installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from _results import write_results
    from sklearn.base import clone

    from sklearn_deepfake import make_default_pipeline
    from sklearn_deepfake.cli import _fit as cli
    from sklearn_deepfake.cli._fit import _cross_validate
    from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-originals", type=int, default=6)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--n-frames", type=int, default=16)
    parser.add_argument("--features", default="context")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench_fit_report_"))
    make_dfdc_folder(root, n_originals=args.n_originals, n_test=0, random_state=0)
    data = load_dfdc(root)
    paths, y, groups = list(data.paths), np.asarray(data.target), data.groups
    pipe = make_default_pipeline(
        features=args.features,
        n_frames=args.n_frames,
        size=64,
        cache_dir=root / "faces",
        device="cpu",
    )
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    clone(pipe[:2]).fit_transform(paths)  # fill the face cache (not timed below)
    faces_s = time.perf_counter() - t

    def report(features_once: bool) -> tuple[float, np.ndarray]:
        if not features_once:  # the code before: the whole pipeline per fold
            cli._label_free_once = lambda pipe, paths: (paths, pipe)
        try:
            t = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                loss = _cross_validate(pipe, paths, y, groups, args.k, explicit=False)
            return time.perf_counter() - t, loss
        finally:
            cli._label_free_once = label_free_once

    label_free_once = cli._label_free_once
    whole_s, once_s = [], []
    for _ in range(args.repeats):  # alternate, keep the fastest of each
        seconds, whole = report(False)
        whole_s.append(seconds)
        seconds, once = report(True)
        once_s.append(seconds)
    whole_s, once_s = min(whole_s), min(once_s)
    np.testing.assert_allclose(once, whole, rtol=1e-6)
    outputs = {
        "faces_first_pass_s": round(faces_s, 2),
        "report_whole_pipeline_per_fold_s": round(whole_s, 2),
        "report_features_once_s": round(once_s, 2),
        "speedup": round(whole_s / once_s, 2),
        "fold_log_loss": [round(float(v), 4) for v in once],
    }
    inputs = {
        "dataset": "make_dfdc_folder(n_test=0, random_state=0)",
        "n_originals": args.n_originals,
        "n_videos": len(paths),
        "k": args.k,
        "pipeline": f"make_default_pipeline(features={args.features!r}, "
        f"n_frames={args.n_frames}, size=64)",
        "repeats": args.repeats,
        "timing": "fastest of the repeats, faces already cached",
    }
    name = "bench_fit_report_" + args.features.replace("+", "_")
    path = write_results(name, inputs=inputs, outputs=outputs)
    print(outputs)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
