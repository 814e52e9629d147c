"""Face-store formats: disk per video, read speed, key cost, effect on scores.

Measures, on real clips of ``../shared/data`` (``dfl-pairs`` and
``ffpp-c23``), for crops of 224 and 128 px:

* bytes on disk per video and crops per second read back (``t.crops``, the
  whole record, and ``t.crops_at`` of 8 random rows) for each crop format of
  :class:`~sklearn_deepfake.faces.FaceStore` (``raw``: the uint8 array,
  read with ``np.frombuffer``/``mmap``; ``png``: lossless, cv2 level 1;
  ``jpeg``: cv2 quality 95), plus lossless WebP (cv2, quality 101) measured
  on the crops alone (not a store format);
* the effect of JPEG on features: ``FaceContextFeatures`` and
  ``TemporalNoiseFeatures('mtcnn')`` computed on raw and on JPEG-decoded
  crops of the same tracks (mean absolute change over the features' spread,
  median per-feature correlation), and the P(FAKE) of the ``default`` preset
  head (features, pooling, scaler, classifier) fitted on raw crops of the
  ``dfl-pairs`` training clips and applied to the JPEG-decoded crops;
* the hit path of ``FaceStore.get`` (content key, header, every section's
  checksum) in milliseconds per video, and the memory of a lazy record;
* the cost of the content key (size + 10 sampled 64-KiB blocks) and of the
  full-content hash on the 1080p DFDC clips, with the file's pages dropped
  from the OS cache first (``posix_fadvise(DONTNEED)``) and warm.

Writes ``benchmarks/results/bench_store.json`` with ``benchmarks/_results.py``.
Usage::

    PYTHONPATH=. python benchmarks/bench_store.py    # a few minutes on 2 cores
    PYTHONPATH=. python benchmarks/bench_store.py --n-train 8 --n-ffpp 2 --sizes 128
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _results import write_results  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data"


def _drop_cache(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def key_cost(paths: list[str], repeat: int) -> list[dict]:
    from sklearn_deepfake.faces._store import content_key, full_hash

    out = []
    for p in paths:
        row = {"video": os.path.basename(p), "bytes": os.path.getsize(p)}
        for name, fn in [("content_key", content_key), ("full_hash", full_hash)]:
            cold, warm = [], []
            for _ in range(repeat):
                _drop_cache(p)
                t = time.perf_counter()
                fn(p)
                cold.append(time.perf_counter() - t)
                t = time.perf_counter()
                fn(p)
                warm.append(time.perf_counter() - t)
            row[f"{name}_cold_ms"] = 1e3 * statistics.median(cold)
            row[f"{name}_warm_ms"] = 1e3 * statistics.median(warm)
        out.append(row)
    return out


def _with_crops(t, crops):
    import dataclasses

    return dataclasses.replace(t, crops=crops)


def _feature_change(raw: list[np.ndarray], dec: list[np.ndarray]) -> dict:
    a = np.concatenate(raw)
    b = np.concatenate(dec)
    ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    a, b = a[ok], b[ok]
    spread = a.std(0)
    keep = spread > 1e-9
    rel = np.abs(a - b)[:, keep] / spread[keep]
    corr = [
        np.corrcoef(a[:, j], b[:, j])[0, 1] for j in np.flatnonzero(keep) if len(a) > 2
    ]
    return {
        "n_rows": len(a),
        "n_features": int(keep.sum()),
        "mean_abs_change_over_std": float(rel.mean()),
        "max_feature_mean_abs_change_over_std": float(rel.mean(0).max()),
        "median_feature_correlation": float(np.median(corr)),
        "min_feature_correlation": float(np.min(corr)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=16, help="dfl-pairs clips")
    parser.add_argument("--n-ffpp", type=int, default=4, help="ffpp-c23 clips")
    parser.add_argument("--n-frames", type=int, default=32)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 128])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", default=str(DATA), help="the shared data folder")
    parser.add_argument("--output", default=str(HERE / "results" / "bench_store.json"))
    args = parser.parse_args(argv)

    import cv2
    import torch

    from sklearn_deepfake import make_default_pipeline
    from sklearn_deepfake.datasets import load_dfdc
    from sklearn_deepfake.faces import FaceCropper, FaceStore
    from sklearn_deepfake.faces import _store as store_mod
    from sklearn_deepfake.features import FaceContextFeatures, TemporalNoiseFeatures
    from sklearn_deepfake.video import FrameSampler

    torch.set_num_threads(1)
    data = Path(args.data)
    warnings.simplefilter("ignore")
    train = load_dfdc(str(data / "dfl-pairs"), subset="train")
    order = np.argsort(train.groups, kind="stable")[: args.n_train]
    dfl = [train.paths[i] for i in order]
    y = np.asarray(train.target)[order]
    ffpp = sorted(glob.glob(str(data / "ffpp-c23/**/*.mp4"), recursive=True))
    ffpp = ffpp[:: max(1, len(ffpp) // max(args.n_ffpp, 1))][: args.n_ffpp]
    big = sorted(glob.glob(str(data / "dfdc-1080p/*.mp4")))

    inputs = {
        "dfl_pairs": [os.path.basename(p) for p in dfl],
        "ffpp_c23": [os.path.relpath(p, data / "ffpp-c23") for p in ffpp],
        "dfdc_1080p": [os.path.basename(p) for p in big],
        "n_frames": args.n_frames,
        "sampler": "FrameSampler(n_frames, strategy='bursts', burst_len=2)",
        "load_avg_1min_at_start": os.getloadavg()[0],
        "opencv": cv2.__version__,
    }
    result: dict = {
        "key_cost": key_cost(big, args.repeat),
        "sizes": {},
    }
    print(json.dumps(result["key_cost"], indent=1))

    sampler = FrameSampler(args.n_frames, strategy="bursts", burst_len=2)
    plans = sampler.fit_transform(dfl + ffpp)
    tmp = tempfile.mkdtemp(prefix="bench_store_")
    try:
        for size in args.sizes:
            t0 = time.perf_counter()
            cropper = FaceCropper(size=size, device="cpu").fit()
            tracks = cropper.transform(plans)
            res: dict = {
                "extract_seconds": time.perf_counter() - t0,
                "n_videos": len(tracks),
                "n_crops": int(sum(len(t) for t in tracks)),
                "formats": {},
            }
            decoded = {}
            for fmt in ("raw", "png", "jpeg"):
                store = FaceStore(os.path.join(tmp, f"{fmt}{size}"), crop_format=fmt)
                params = {"bench": size}
                t = time.perf_counter()
                lazy = [
                    store.put(p.path, p.indices, params, tr)
                    for p, tr in zip(plans, tracks)
                ]
                write_s = time.perf_counter() - t
                disk = [os.path.getsize(lz.record) for lz in lazy]
                full_s, rows_s, n_rows = [], [], 0
                rng = np.random.default_rng(0)
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    for lz in lazy:
                        store_mod._LAST_CROPS.clear()
                        lz.crops
                    full_s.append(time.perf_counter() - t)
                    store_mod._LAST_CROPS.clear()
                    t = time.perf_counter()
                    n_rows = 0
                    for lz in lazy:
                        if len(lz):
                            rows = rng.choice(len(lz), min(8, len(lz)), replace=False)
                            n_rows += len(lz.crops_at(np.sort(rows)))
                    rows_s.append(time.perf_counter() - t)
                store_mod._LAST_CROPS.clear()
                # The hit path of FaceCropper: content key (not memoised, as
                # in a fresh process), header and every section's checksum.
                get_s = []
                for _ in range(args.repeat):
                    store_mod._CONTENT_KEYS.clear()
                    t = time.perf_counter()
                    hits = [store.get(p.path, p.indices, params) for p in plans]
                    get_s.append(time.perf_counter() - t)
                assert all(h is not None for h in hits)
                decoded[fmt] = [lz.load() for lz in lazy]
                res["formats"][fmt] = {
                    "bytes_per_video_mean": float(np.mean(disk)),
                    "bytes_per_crop_mean": float(sum(disk) / max(res["n_crops"], 1)),
                    "write_crops_per_s": res["n_crops"] / write_s,
                    "read_all_crops_per_s": res["n_crops"] / min(full_s),
                    "read_8_rows_crops_per_s": n_rows / min(rows_s),
                    "lookup_ms_per_video": 1e3 * min(get_s) / len(plans),
                    "lossless": bool(
                        all(
                            np.array_equal(a.crops, b.crops)
                            for a, b in zip(tracks, decoded[fmt])
                        )
                    ),
                }
            if "lazy_record" not in result:
                lz = lazy[0]
                tracemalloc.start()
                before = tracemalloc.get_traced_memory()[0]
                many = [pickle.loads(pickle.dumps(lz)) for _ in range(1000)]
                after = tracemalloc.get_traced_memory()[0]
                tracemalloc.stop()
                result["lazy_record"] = {
                    "pickled_bytes": len(pickle.dumps(lz)),
                    "memory_bytes_each_of_1000": (after - before) / len(many),
                }
            # Lossless WebP, crops only (not a store format).
            crops = [c for tr in tracks for c in tr.crops]
            t = time.perf_counter()
            blobs = [
                cv2.imencode(".webp", c[..., ::-1], [cv2.IMWRITE_WEBP_QUALITY, 101])[1]
                for c in crops
            ]
            enc = time.perf_counter() - t
            t = time.perf_counter()
            for b in blobs:
                cv2.imdecode(b, cv2.IMREAD_COLOR)
            dec = time.perf_counter() - t
            res["formats"]["webp_lossless_crops_only"] = {
                "bytes_per_crop_mean": float(np.mean([len(b) for b in blobs])),
                "write_crops_per_s": len(crops) / enc,
                "read_all_crops_per_s": len(crops) / dec,
            }
            print(size, json.dumps(res["formats"], indent=1))

            # Effect of JPEG q95 on features and on the default head.
            jpeg = [_with_crops(a, b.crops) for a, b in zip(tracks, decoded["jpeg"])]
            effect = {}
            for name, est in [
                ("FaceContextFeatures", FaceContextFeatures()),
                ("TemporalNoiseFeatures_mtcnn", TemporalNoiseFeatures("mtcnn")),
            ]:
                est.fit(tracks)
                effect[name] = _feature_change(
                    est.transform(tracks), est.transform(jpeg)
                )
            n_dfl = len(dfl)
            head = make_default_pipeline(preset="default", size=size)[2:]
            head.fit(tracks[:n_dfl], y)
            p_raw = head.predict_proba(tracks)[:, 1]
            p_jpg = head.predict_proba(jpeg)[:, 1]
            effect["default_head_p_fake"] = {
                "fitted_on": f"raw crops of {n_dfl} dfl-pairs training clips",
                "applied_to": f"the same {n_dfl} + {len(ffpp)} ffpp-c23 clips",
                "mean_abs_change": float(np.mean(np.abs(p_raw - p_jpg))),
                "max_abs_change": float(np.max(np.abs(p_raw - p_jpg))),
                "correlation": float(np.corrcoef(p_raw, p_jpg)[0, 1]),
            }
            res["jpeg_q95_effect"] = effect
            print(size, json.dumps(effect, indent=1))
            result["sizes"][str(size)] = res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    output = Path(args.output)
    write_results(output.stem, inputs=inputs, outputs=result, folder=output.parent)
    print("wrote", args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
