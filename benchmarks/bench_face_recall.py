"""Share of sampled frames in which FaceCropper finds a face, on real clips.

For every video given (default: all of ``../shared/data``), prints the
fraction of the 32 uniformly sampled frames with a face, the number of
tracks, how far the landmarks' centre sits from the crop centre (fraction of
the crop side), how many rows came from a detector call, and the seconds.

Usage::

    python benchmarks/bench_face_recall.py [VIDEO ...] [--n-frames 32]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.video import FrameSampler

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*")
    parser.add_argument("--n-frames", type=int, default=32)
    args = parser.parse_args(argv)
    videos = args.videos or sorted(str(p) for p in SHARED.rglob("*.mp4"))
    sampler = FrameSampler(n_frames=args.n_frames).fit(videos)
    cropper = FaceCropper(size=128, device="cpu").fit()
    rates = []
    for path in videos:
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tracks = cropper.transform(sampler.transform([path]))[0]
        found = tracks.face_found.mean() if len(tracks.face_found) else 0.0
        rates.append(found)
        off = (
            np.abs(tracks.landmarks.mean(axis=1) - tracks.size / 2).max() / tracks.size
            if len(tracks)
            else float("nan")
        )
        notes = "; ".join(str(w.message)[:60] for w in caught)
        print(
            f"{Path(path).parent.name[:12]:<12} {Path(path).name[:32]:<32} "
            f"found {found:4.0%} tracks {tracks.n_tracks} detected "
            f"{int(tracks.detected.sum()):2d} centre-off {off:.2f} "
            f"{time.perf_counter() - t0:5.2f}s {notes}"
        )
    rates = np.asarray(rates)
    print(
        f"{len(rates)} videos: mean {rates.mean():.1%}, min {rates.min():.0%}, "
        f"{(rates < 0.95).sum()} below 95%"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
