"""Share of sampled frames in which FaceCropper finds a face, on real clips.

For every video given (default: all of ``../shared/data``), prints the
fraction of the 32 uniformly sampled frames with a face, the number of
tracks, how far the landmarks' centre sits from the crop centre (fraction of
the crop side), how many rows came from a detector call, and the seconds,
and writes them with the summary to ``benchmarks/results/bench_face_recall``
(``.json`` and ``.md``).

Usage::

    python benchmarks/bench_face_recall.py [VIDEO ...] [--n-frames 32]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _results import write_results  # noqa: E402

from sklearn_deepfake.faces import FaceCropper  # noqa: E402
from sklearn_deepfake.video import FrameSampler  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*")
    parser.add_argument("--n-frames", type=int, default=32)
    args = parser.parse_args(argv)
    videos = args.videos or sorted(str(p) for p in SHARED.rglob("*.mp4"))
    sampler = FrameSampler(n_frames=args.n_frames).fit(videos)
    cropper = FaceCropper(size=128, device="cpu").fit()
    rates, rows = [], []
    for path in videos:
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tracks = cropper.transform(sampler.transform([path]))[0]
        found = tracks.face_found.mean() if len(tracks.face_found) else 0.0
        rates.append(found)
        off = (
            np.abs(tracks.landmarks.mean(axis=1) - tracks.crop_size / 2).max()
            / tracks.crop_size
            if len(tracks)
            else float("nan")
        )
        notes = "; ".join(str(w.message)[:60] for w in caught)
        seconds = time.perf_counter() - t0
        rows.append(
            {
                "folder": Path(path).parent.name,
                "video": Path(path).name,
                "frames_with_face": float(found),
                "tracks": int(tracks.n_tracks),
                "detected_rows": int(tracks.detected.sum()),
                "centre_offset": float(off),
                "seconds": seconds,
                "warnings": notes,
            }
        )
        print(
            f"{Path(path).parent.name[:12]:<12} {Path(path).name[:32]:<32} "
            f"found {found:4.0%} tracks {tracks.n_tracks} detected "
            f"{int(tracks.detected.sum()):2d} centre-off {off:.2f} "
            f"{seconds:5.2f}s {notes}"
        )
    rates = np.asarray(rates)
    summary = {
        "videos": len(rates),
        "mean_frames_with_face": float(rates.mean()),
        "min_frames_with_face": float(rates.min()),
        "videos_below_95_percent": int((rates < 0.95).sum()),
        "videos_with_a_miss": int((rates < 1).sum()),
    }
    print(
        f"{len(rates)} videos: mean {rates.mean():.1%}, min {rates.min():.0%}, "
        f"{(rates < 0.95).sum()} below 95%"
    )
    missed = [r for r in rows if r["frames_with_face"] < 1]
    table = [
        f"{len(rates)} videos, {args.n_frames} frames each: faces found on "
        f"{rates.mean():.1%} of the sampled frames (mean over videos); "
        f"{summary['videos_with_a_miss']} videos with a frame without a face.",
        "",
        "| folder | video | frames with a face | tracks |",
        "|---|---|---|---|",
        *[
            f"| {r['folder']} | {r['video']} | {r['frames_with_face']:.1%} "
            f"| {r['tracks']} |"
            for r in missed
        ],
    ]
    write_results(
        "bench_face_recall",
        inputs={
            "videos": [f"{Path(v).parent.name}/{Path(v).name}" for v in videos],
            "n_frames": args.n_frames,
            "crop_size": 128,
        },
        outputs={"summary": summary, "per_video": rows},
        markdown="\n".join(table),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
