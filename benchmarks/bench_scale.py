"""Does a list of N videos cost per video what a list of 100 costs?

Folders of N small synthetic videos (``make_face_videos``: real face photos
moving over a background, a few seconds each, half of them manipulated) go
through every stage of a large run, each stage in a fresh process so that its
peak resident memory is its own:

``extract``       ``FrameSampler`` + ``FaceCropper`` into a new face store,
                  one process (``n_jobs=1``);
``extract-dask``  the same on a dask ``LocalCluster`` of ``--workers`` worker
                  processes writing into another new store (the peak memory
                  of every worker is reported too);
``fit``           ``make_default_pipeline`` fitted on the N videos, reading
                  the faces back from the store;
``fit-cnn``       ``FaceCNNClassifier`` with a small backbone, one epoch,
                  ``--cnn-frames`` frames per video, from the store;
``predict``       the fitted default pipeline's ``predict_proba`` on the N
                  videos and a complete ``submission.csv``.

For each N and stage it prints and records seconds per video, the peak RSS of
the main process (and of each dask worker) and the store's size on disk, then
the ratios of the largest N against the smallest: memory that does not grow
with N gives a ratio near 1. Last, a projection for the DFDC training set
(119,000 videos, 32 frames, 224 and 380 px crops) from the measured rates:
disk, RAM and hours on this machine and on a 16-core machine.

The projection's assumptions: store bytes per crop scale with the crop's
area from the bench's crop size (small arrays included); extraction hours
use the seconds per 1080p DFDC clip measured here (``../shared/data/
dfdc-1080p``, one process, 32 frames) divided by the number of cores (one
worker process per core, as ``n_jobs`` and dask run them); RAM is the largest
N's peak plus the measured bytes per video of the list between steps times
119,000. GPU rates are not measured by this script.

Results go to ``benchmarks/results/bench_scale.json`` and ``.md``.

Usage::

    python benchmarks/bench_scale.py --sizes 500 2000 8000
    python benchmarks/bench_scale.py --sizes 8000 --stages extract fit --extend
    python benchmarks/bench_scale.py --sizes 20 40 --workdir /tmp/s  # smoke run

``--extend`` adds sizes to those already in the results file (the
``1080p`` figures and the projection are measured again).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import RESULTS, write_results  # noqa: E402

STAGES = ("extract", "extract-dask", "fit", "fit-cnn", "predict")
DFDC_VIDEOS = 119_000
DFDC_1080P = sorted(glob.glob(str(HERE.parent.parent / "shared/data/dfdc-1080p/*.mp4")))


# --------------------------------------------------------------------- data
def make_videos(workdir: Path, n: int, chunk: int = 250) -> tuple[list[str], list[int]]:
    """The first ``n`` videos of a pool that grows by chunks of ``chunk``."""
    from joblib import Parallel, delayed

    folder = workdir / "videos"
    folder.mkdir(parents=True, exist_ok=True)
    n_chunks = -(-n // chunk)
    todo = [c for c in range(n_chunks) if not (folder / f"chunk{c:04d}.json").exists()]
    Parallel(n_jobs=2)(delayed(_make_chunk)(folder, c, chunk) for c in todo)
    paths, labels = [], []
    for c in range(n_chunks):
        rec = json.loads((folder / f"chunk{c:04d}.json").read_text())
        # Interleave the classes inside a chunk, so that any first N mixes them.
        rank = {0: 0, 1: 0}
        keys = []
        for label in rec["target"]:
            keys.append(2 * rank[label] + label)
            rank[label] += 1
        order = sorted(range(len(keys)), key=keys.__getitem__)
        paths += [rec["paths"][i] for i in order]
        labels += [rec["target"][i] for i in order]
    return paths[:n], labels[:n]


def _make_chunk(folder: Path, c: int, chunk: int) -> None:
    from sklearn_deepfake.datasets import make_face_videos

    data = make_face_videos(
        n_videos=chunk,
        n_frames=16,
        fps=8.0,
        frame_size=(160, 120),
        face_size=(0.5, 0.6),
        manipulated=0.5,
        audio=False,
        directory=folder,
        prefix=f"c{c:04d}_",
        random_state=c,
    )
    rec = {"paths": list(map(str, data.paths)), "target": data.target.tolist()}
    tmp = folder / f"chunk{c:04d}.json.tmp"
    tmp.write_text(json.dumps(rec))
    os.replace(tmp, folder / f"chunk{c:04d}.json")


# ------------------------------------------------------------------- stages
def _pipeline(args: argparse.Namespace, store: Path):
    from sklearn_deepfake import make_default_pipeline

    return make_default_pipeline(
        n_frames=args.frames, size=args.size, cache_dir=store, device="cpu"
    )


def _maxrss_mb() -> float:
    """Peak resident memory of this process in MB.

    ``VmHWM`` belongs to the process image, so a stage started by ``exec``
    does not inherit the parent's peak, as ``ru_maxrss`` does on Linux.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_stage(args: argparse.Namespace) -> dict:
    """One stage in this process; returns its figures."""
    import joblib

    warnings.simplefilter("ignore")
    workdir = Path(args.workdir)
    paths, labels = make_videos(workdir, args.n)
    serial = workdir / f"store-{args.n}"
    model_file = workdir / f"model-{args.n}.joblib"
    out: dict = {"stage": args.stage, "n": args.n}
    t0 = time.perf_counter()
    if args.stage == "extract":
        shutil.rmtree(serial, ignore_errors=True)
        faces = _pipeline(args, serial)[:2]
        tracks = faces.fit_transform(paths)
        out["faces_found"] = sum(len(t) > 0 for t in tracks)
        out["crops"] = sum(len(t) for t in tracks)
        out["list_bytes_per_video"] = _list_bytes(tracks)
    elif args.stage == "extract-dask":
        from distributed import Client, LocalCluster

        store = workdir / f"store-{args.n}-dask"
        shutil.rmtree(store, ignore_errors=True)
        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            t0 = time.perf_counter()
            faces = _pipeline(args, store)[:2]
            faces.set_params(facecropper__scheduler=client)
            tracks = faces.fit_transform(paths)
            out["seconds"] = time.perf_counter() - t0
            out["worker_rss_mb"] = sorted(client.run(_maxrss_mb).values())
        out["faces_found"] = sum(len(t) > 0 for t in tracks)
        out.update(_store_size(store))
    elif args.stage == "fit":
        model = _pipeline(args, serial).fit(paths, labels)
        joblib.dump(model, model_file)
    elif args.stage == "fit-cnn":
        from sklearn_deepfake.nets import FaceCNNClassifier

        tracks = _pipeline(args, serial)[:2].fit_transform(paths)
        FaceCNNClassifier(
            "resnet18",
            input_size=args.size,
            max_epochs=1,
            batch_size=64,
            frames_per_video=args.cnn_frames,
            valid_size=None,
            device="cpu",
            random_state=0,
        ).fit(tracks, labels)
    elif args.stage == "predict":
        from sklearn_deepfake import write_submission

        model = joblib.load(model_file)
        proba = model.predict_proba(paths)[:, 1]
        names = [os.path.basename(p) for p in paths]
        write_submission(workdir / f"submission-{args.n}.csv", names, proba)
        out["rows"] = len(proba)
    out.setdefault("seconds", time.perf_counter() - t0)
    out["s_per_video"] = out["seconds"] / args.n
    out["rss_mb"] = _maxrss_mb()
    out["load_avg_1min"] = os.getloadavg()[0]
    if args.stage == "extract":
        out.update(_store_size(serial))
    return out


def _list_bytes(tracks: list) -> float:
    """Pickled bytes per element of the list passed between steps."""
    import pickle

    return len(pickle.dumps(tracks, protocol=pickle.HIGHEST_PROTOCOL)) / len(tracks)


def _store_size(folder: Path) -> dict:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {
        "store_bytes": sum(p.stat().st_size for p in files),
        "store_files": len(files),
    }


def measure_1080p(args: argparse.Namespace) -> dict:
    """Seconds per 1080p DFDC clip for 32 frames of faces, one process."""
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    if not DFDC_1080P:
        return {}
    out = {}
    for size in (224, 380):
        steps = [FrameSampler(n_frames=32), FaceCropper(size=size, device="cpu")]
        plans = steps[0].fit_transform(DFDC_1080P)
        steps[1].fit()
        t0 = time.perf_counter()
        tracks = steps[1].transform(plans)
        out[f"s_per_clip_{size}"] = (time.perf_counter() - t0) / len(plans)
        out[f"crops_per_clip_{size}"] = sum(len(t) for t in tracks) / len(tracks)
    return out


# --------------------------------------------------------------- projection
def project(stages: dict, clip: dict, store_bytes_per_crop: dict) -> dict:
    """DFDC figures from the measured rates (see the module docstring)."""
    largest = max(stages)
    proj: dict = {"videos": DFDC_VIDEOS, "frames": 32}
    for size in (224, 380):
        per_crop = store_bytes_per_crop.get(size)
        if per_crop is None:
            continue
        s_clip = clip.get(f"s_per_clip_{size}")
        crops = clip.get(f"crops_per_clip_{size}", 32.0)
        row = {"store_gb": per_crop * crops * DFDC_VIDEOS / 1e9}
        if s_clip is not None:
            row["extract_hours_2_cores"] = s_clip * DFDC_VIDEOS / 2 / 3600
            row["extract_hours_16_cores"] = s_clip * DFDC_VIDEOS / 16 / 3600
        proj[f"crops_{size}"] = row
    per_video = stages[largest].get("extract", {}).get("list_bytes_per_video")
    peak = max(r["rss_mb"] for r in stages[largest].values())
    proj["ram_mb"] = peak + (per_video or 0) * DFDC_VIDEOS / 2**20
    return proj


# --------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--workdir", default="/tmp/skdf-bench-scale")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--cnn-frames", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--extend",
        action="store_true",
        help="keep the sizes of the results file and add these to them",
    )
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        print(json.dumps(run_stage(args)))
        return 0

    make_videos(Path(args.workdir), max(args.sizes))
    clip = measure_1080p(args)
    results: dict = {}
    if args.extend and (RESULTS / "bench_scale.json").exists():
        earlier = json.loads((RESULTS / "bench_scale.json").read_text())["outputs"]
        results = {int(n): st for n, st in earlier["stages"].items()}
    for n in sorted(args.sizes):
        results.setdefault(n, {})
        for stage in args.stages:
            cmd = [sys.executable, __file__, "--stage", stage, "--n", str(n)]
            for opt in ("workdir", "frames", "size", "cnn_frames", "workers"):
                cmd += [f"--{opt.replace('_', '-')}", str(getattr(args, opt))]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode:
                print(done.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"stage {stage} at N={n} failed")
            rec = json.loads(done.stdout.strip().splitlines()[-1])
            results[n][stage] = rec
            print(
                f"N={n:>6} {stage:<13} {rec['s_per_video']:.4f} s/video  "
                f"peak RSS {rec['rss_mb']:.0f} MB"
                + (
                    f"  workers {', '.join(f'{w:.0f}' for w in rec['worker_rss_mb'])}"
                    f" MB"
                    if "worker_rss_mb" in rec
                    else ""
                )
                + (
                    f"  store {rec['store_bytes'] / 2**20:.1f} MiB"
                    if "store_bytes" in rec
                    else ""
                ),
                flush=True,
            )
        _report(args, results, clip)  # after every N: a cut run keeps its figures
    return 0


def _report(args: argparse.Namespace, results: dict, clip: dict) -> None:
    """Ratios, projection and the results files, from the sizes done so far."""
    lo, hi = min(results), max(results)
    ratios = {
        stage: {
            "rss": results[hi][stage]["rss_mb"] / results[lo][stage]["rss_mb"],
            "s_per_video": results[hi][stage]["s_per_video"]
            / results[lo][stage]["s_per_video"],
        }
        for stage in STAGES
        if stage in results[hi] and stage in results[lo]
    }
    bytes_per_crop = {}
    ext = results[hi].get("extract")
    if ext and ext["crops"]:
        # The store's bytes per crop (small arrays included), scaled by area.
        per_crop = ext["store_bytes"] / ext["crops"]
        for size in (224, 380):
            bytes_per_crop[size] = per_crop * (size / args.size) ** 2
    projection = project(results, clip, bytes_per_crop)
    md = _markdown(results, ratios, projection, lo, hi)
    print(md)
    write_results(
        "bench_scale",
        inputs={
            "sizes": sorted(results),
            "stages_per_size": {n: list(st) for n, st in sorted(results.items())},
            "frames": args.frames,
            "crop_size": args.size,
            "cnn_frames": args.cnn_frames,
            "dask_workers": args.workers,
            "videos": "make_face_videos 160x120, 16 frames at 8 fps, half manipulated",
            "dfdc_1080p_clips": [os.path.basename(p) for p in DFDC_1080P],
        },
        outputs={
            "stages": results,
            "ratios_largest_vs_smallest": ratios,
            "clip_1080p": clip,
            "dfdc_projection": projection,
        },
        markdown=md,
    )


def _markdown(results: dict, ratios: dict, proj: dict, lo: int, hi: int) -> str:
    lines = [
        "| N | stage | s / video | peak RSS main (MB) | peak RSS workers (MB) "
        "| store (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for n, stages in sorted(results.items()):
        for stage, r in stages.items():
            workers = ", ".join(f"{w:.0f}" for w in r.get("worker_rss_mb", []))
            store = f"{r['store_bytes'] / 2**20:.1f}" if "store_bytes" in r else ""
            lines.append(
                f"| {n} | {stage} | {r['s_per_video']:.4f} | {r['rss_mb']:.0f} "
                f"| {workers} | {store} |"
            )
    lines += ["", f"Ratios N={hi} / N={lo}:", "", "| stage | RSS | s / video |"]
    lines.append("|---|---|---|")
    for stage, r in ratios.items():
        lines.append(f"| {stage} | {r['rss']:.2f} | {r['s_per_video']:.2f} |")
    lines += ["", "DFDC projection (119,000 videos, 32 frames):", ""]
    lines.append("| crops | store (GB) | extract hours, 2 cores | 16 cores |")
    lines.append("|---|---|---|---|")
    for size in (224, 380):
        row = proj.get(f"crops_{size}")
        if row:
            lines.append(
                f"| {size} px | {row['store_gb']:.0f} "
                f"| {row.get('extract_hours_2_cores', float('nan')):.0f} "
                f"| {row.get('extract_hours_16_cores', float('nan')):.1f} |"
            )
    lines.append(f"\nRAM of the main process: about {proj['ram_mb']:.0f} MB.")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
