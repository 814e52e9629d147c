"""Cost of the face step against decoding the same frames alone.

For each video, in one process and one run, this times

(a) decoding the frames that ``FrameSampler`` plans (one forward pass,
    colour conversion of the wanted frames only), and
(b) the whole ``FrameSampler`` + ``FaceCropper`` step on the same video
    (probe, decode, MTCNN on downscaled frames, tracking, cropping),

alternating (a) and (b) ``--repeat`` times, and prints the median seconds of
each, their ratio, the faces found and the peak resident memory. ``--many N``
then runs the step over N copies of the list to show that memory stays flat.
Everything printed is written to ``benchmarks/results/bench_faces`` (``.json``
and ``.md``).

Usage::

    python benchmarks/bench_faces.py                       # ../shared/data clips
    python benchmarks/bench_faces.py video1.mp4 video2.mp4 --n-frames 32
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

import cv2
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _results import write_results  # noqa: E402

from sklearn_deepfake.faces import FaceCropper  # noqa: E402
from sklearn_deepfake.video import FrameSampler, read_frames  # noqa: E402

DEFAULT = sorted(glob.glob(str(HERE.parent.parent / "shared/data/dfdc-1080p/*.mp4")))
if not DEFAULT:
    DEFAULT = sorted(glob.glob("/work/shared/data/dfdc-1080p/*.mp4"))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", default=DEFAULT)
    parser.add_argument("--n-frames", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--detect-every", type=int, default=4)
    parser.add_argument("--detect-scale", default="auto")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--many", type=int, default=0, help="then run over N copies: memory check"
    )
    args = parser.parse_args(argv)
    if not args.videos:
        parser.error("no video given and ../shared/data/dfdc-1080p/ not found")
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    scale = args.detect_scale
    scale = scale if scale == "auto" else float(scale)

    sampler = FrameSampler(n_frames=args.n_frames).fit(args.videos)
    cropper = FaceCropper(
        size=224,
        backend=args.backend,
        detect_every=args.detect_every,
        detect_scale=scale,
        device="cpu",
    ).fit()
    # Warm-up: load MTCNN and the codec once, outside the timings.
    cropper.transform(sampler.transform(args.videos[:1]))

    print(
        f"{'video':<22} {'size':>10} {'decode s':>9} {'faces s':>8} {'ratio':>6}"
        f" {'found':>6} {'tracks':>6}"
    )
    ratios, rows = [], []
    for path in args.videos:
        dec, full = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            plan = sampler.transform([path])[0]
            read_frames(path, plan.indices, backend=args.backend)
            t1 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tracks = cropper.transform(sampler.transform([path]))[0]
            t2 = time.perf_counter()
            dec.append(t1 - t0)
            full.append(t2 - t1)
        d, f = statistics.median(dec), statistics.median(full)
        ratios.append(f / d)
        found = tracks.face_found.mean() if len(tracks.face_found) else 0.0
        rows.append(
            {
                "video": os.path.basename(path),
                "width": plan.width,
                "height": plan.height,
                "decode_s": d,
                "faces_s": f,
                "ratio": f / d,
                "frames_with_face": float(found),
                "tracks": int(tracks.n_tracks),
            }
        )
        print(
            f"{os.path.basename(path)[:22]:<22} {plan.width:>4}x{plan.height:<5}"
            f" {d:9.3f} {f:8.3f} {f / d:6.2f} {found:6.0%} {tracks.n_tracks:>6}"
        )
    print(f"median ratio faces/decode: {statistics.median(ratios):.2f}")
    print(f"peak RSS after {len(args.videos)} videos: {_rss_mb():.0f} MB")
    outputs = {
        "per_video": rows,
        "median_ratio_faces_to_decode": statistics.median(ratios),
        "median_faces_s": statistics.median(r["faces_s"] for r in rows),
        "peak_rss_mb": _rss_mb(),
    }
    if args.many:
        many = list(args.videos) * args.many
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k, plan in enumerate(sampler.transform(many)):
                cropper.transform([plan])
                if (k + 1) % max(1, len(many) // 4) == 0:
                    print(f"  {k + 1:4d} videos: peak RSS {_rss_mb():.0f} MB")
        dt = time.perf_counter() - t0
        print(f"{len(many)} videos in {dt:.1f} s ({dt / len(many):.2f} s/video)")
        outputs["many"] = {
            "videos": len(many),
            "seconds": dt,
            "peak_rss_mb": _rss_mb(),
        }
    table = [
        "| video | size | decode s | faces s | ratio | frames with a face |",
        "|---|---|---|---|---|---|",
        *[
            f"| {r['video']} | {r['width']}x{r['height']} | {r['decode_s']:.3f} "
            f"| {r['faces_s']:.3f} | {r['ratio']:.2f} | {r['frames_with_face']:.0%} |"
            for r in rows
        ],
        "",
        f"Median ratio faces / decode: {outputs['median_ratio_faces_to_decode']:.2f};"
        f" peak RSS {outputs['peak_rss_mb']:.0f} MB.",
    ]
    write_results(
        "bench_faces",
        inputs={
            "videos": [os.path.basename(v) for v in args.videos],
            **{k: v for k, v in vars(args).items() if k != "videos"},
        },
        outputs=outputs,
        markdown="\n".join(table),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
