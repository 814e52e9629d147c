"""Pair-aware extraction against per-video extraction: seconds and speed-up.

Extracts the training videos of a DFDC-layout folder twice with the same
``FaceCropper`` (CPU, one process): once video by video
(``FaceCropper.transform``, MTCNN on every video), once with
:func:`~sklearn_deepfake.faces.extract_pairs` (MTCNN on the originals only,
each fake decoded and cut with its original's boxes). Each is timed
``--repeats`` times and the fastest run kept; the first (untimed) call warms
MTCNN and the decoder.

Data:

* ``synthetic``: :func:`~sklearn_deepfake.datasets.make_dfdc_folder` with
  ``--originals`` originals and ``--fakes`` fakes per original (DFDC has
  about five), ``--frames`` frames of ``--width`` x ``--height``;
* ``dfl-pairs`` (when ``--data`` holds ``dfl-pairs/``): the first
  ``--real-pairs`` (original, fake) pairs of its training folder: real
  480-640 px clips, one fake per original.

Writes ``benchmarks/results/bench_pairs.json`` and ``.md``. Usage::

    PYTHONPATH=. python benchmarks/bench_pairs.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._results import write_results
from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder
from sklearn_deepfake.faces import FaceCropper, extract_pairs
from sklearn_deepfake.video import FrameSampler

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _originals(data) -> list[str | None]:
    return [o if isinstance(o, str) else None for o in data.frame["original"]]


def _time(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return float(best)


def measure(paths, originals, *, n_frames: int, size: int, repeats: int) -> dict:
    plans = FrameSampler(n_frames=n_frames).fit_transform(paths)
    cropper = FaceCropper(size=size, device="cpu").fit()
    per_video = cropper.transform(plans)  # warm-up, and the rows to compare
    paired = extract_pairs(cropper, plans, originals)
    t_video = _time(lambda: cropper.transform(plans), repeats)
    t_pairs = _time(lambda: extract_pairs(cropper, plans, originals), repeats)
    n_fakes = sum(o is not None for o in originals)
    return {
        "n_videos": len(paths),
        "n_originals": len(paths) - n_fakes,
        "n_fakes": n_fakes,
        "frames_per_video": n_frames,
        "per_video_seconds": round(t_video, 3),
        "paired_seconds": round(t_pairs, 3),
        "speedup": round(t_video / t_pairs, 2),
        "rows_per_video": int(sum(map(len, per_video))),
        "rows_paired": int(sum(map(len, paired))),
        "fakes_cut_with_original_boxes": int(sum("original" in t.meta for t in paired)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=3)
    parser.add_argument("--fakes", type=int, default=5)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--real-pairs", type=int, default=4)
    parser.add_argument("--data", default=str(DATA), help="the shared data folder")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as root:
        make_dfdc_folder(
            root,
            n_originals=args.originals,
            fakes_per_original=args.fakes,
            n_test=0,
            n_frames=args.frames,
            frame_size=(args.width, args.height),
            random_state=0,
        )
        data = load_dfdc(root)
        results["synthetic"] = measure(
            data.paths,
            _originals(data),
            n_frames=args.frames,
            size=args.size,
            repeats=args.repeats,
        )
        print("synthetic", results["synthetic"], flush=True)
    real = Path(args.data) / "dfl-pairs" / "train_sample_videos"
    if args.real_pairs and (real / "metadata.json").is_file():
        data = load_dfdc(real)
        originals = _originals(data)
        fakes = [i for i, o in enumerate(originals) if o][: args.real_pairs]
        keep = sorted(set(fakes) | {data.filenames.index(originals[i]) for i in fakes})
        results["dfl-pairs"] = measure(
            [data.paths[i] for i in keep],
            [originals[i] for i in keep],
            n_frames=args.frames,
            size=args.size,
            repeats=args.repeats,
        )
        print("dfl-pairs", results["dfl-pairs"], flush=True)
    lines = [
        "| data | videos | originals | fakes | per video (s) | paired (s) | speed-up |",
        "|---|---|---|---|---|---|---|",
    ] + [
        f"| {name} | {r['n_videos']} | {r['n_originals']} | {r['n_fakes']} | "
        f"{r['per_video_seconds']} | {r['paired_seconds']} | {r['speedup']}x |"
        for name, r in results.items()
    ]
    path = write_results(
        "bench_pairs",
        inputs=vars(args) | {"device": "cpu", "n_jobs": 1},
        outputs=results,
        markdown="\n".join(lines),
    )
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
