"""Face extraction serially, with joblib workers and on a local dask cluster.

Runs ``FaceCropper`` on the same synthetic videos four ways, each into a fresh
face cache: serial; ``n_jobs=W`` (joblib, loky processes); ``scheduler=W``
(a dask ``LocalCluster`` of W processes started and closed by the call, so
its start-up is included); and ``scheduler=ADDRESS`` of a cluster started
beforehand (start-up excluded). It checks that every run returns the serial
run's records, array for array, and the same warnings, and writes
``benchmarks/results/bench_parallel.json`` (and ``.md``).

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_parallel.py --n-videos 12 --workers 2
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _results import write_results

from sklearn_deepfake.datasets import make_face_videos
from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.utils._parallel import local_cluster
from sklearn_deepfake.video import FrameSampler


def _same(a: list, b: list) -> bool:
    for x, y in zip(a, b, strict=True):
        for field in dataclasses.fields(x):
            u, v = getattr(x, field.name), getattr(y, field.name)
            same = np.array_equal(u, v) if isinstance(u, np.ndarray) else u == v
            if not same:
                return False
    return True


def _run(plans: list, root: Path, name: str, **params: object) -> dict:
    cropper = FaceCropper(size=64, device="cpu", cache_dir=root / name, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = time.perf_counter()
        tracks = cropper.fit().transform(plans)
        seconds = time.perf_counter() - t
    return {
        "tracks": tracks,
        "seconds": seconds,
        "warnings": [str(w.message) for w in caught],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-videos", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n-frames", type=int, default=8)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_parallel_"))
    videos = make_face_videos(
        args.n_videos, n_frames=24, directory=root / "videos", random_state=0
    )
    plans = FrameSampler(n_frames=args.n_frames).fit_transform(videos.paths)
    w = args.workers
    runs = {"serial": _run(plans, root, "serial")}
    runs[f"joblib n_jobs={w}"] = _run(plans, root, "joblib", n_jobs=w)
    runs[f"dask scheduler={w} (start included)"] = _run(
        plans, root, "dask_cold", scheduler=w
    )
    with local_cluster(w) as address:
        runs[f"dask scheduler=ADDRESS ({w} warm workers)"] = _run(
            plans, root, "dask_warm", scheduler=address
        )
    ref = runs["serial"]
    rows = []
    for name, run in runs.items():
        rows.append(
            {
                "run": name,
                "seconds": round(run["seconds"], 2),
                "seconds_per_video": round(run["seconds"] / len(plans), 3),
                "identical_records": _same(ref["tracks"], run["tracks"]),
                "same_warnings": run["warnings"] == ref["warnings"],
            }
        )
    table = [
        "| run | s | s/video | identical records | same warnings |",
        "|---|---|---|---|---|",
    ] + [
        f"| {r['run']} | {r['seconds']} | {r['seconds_per_video']} | "
        f"{r['identical_records']} | {r['same_warnings']} |"
        for r in rows
    ]
    print("\n".join(table))
    write_results(
        "bench_parallel",
        inputs={
            "n_videos": args.n_videos,
            "video": "make_face_videos(n_frames=24, random_state=0), 192x144",
            "n_frames": args.n_frames,
            "crop_size": 64,
            "workers": w,
        },
        outputs=rows,
        markdown="\n".join(table),
    )


if __name__ == "__main__":
    main()
