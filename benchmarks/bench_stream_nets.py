"""Peak memory of FaceCNNClassifier fit + predict: lazy on-disk records vs in memory.

For each number of videos N, a fresh process builds N synthetic per-video
records (8 face crops of 64 px each) and fits a ``FaceCNNClassifier`` with a
tiny backbone (``mobilenetv3_small_050``) for one epoch, then scores every
crop with ``predict_proba``. The records are either plain in-memory
``FaceTracks`` (all crops in RAM, as before the face store) or on-disk
records whose crops are read row by row with ``pread`` through
``crops_at`` (standing in for the face store's lazy records; reading
``.crops`` raises). Reported per N and mode: peak RSS of the process
(``ru_maxrss``) after building the records, after ``fit`` and after
``predict_proba``, and seconds per video. The two modes give identical
probabilities (checked).

Run::

    python benchmarks/bench_stream_nets.py --n 200 1600

Writes ``benchmarks/results/stream_nets.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# This checkout's package, also where another one is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROWS, SIZE = 8, 64


def _records(n: int, folder: Path, lazy: bool) -> list:
    from sklearn_deepfake.utils import FaceTracks

    row_bytes = SIZE * SIZE * 3
    path = folder / "crops.bin"
    if lazy and not path.exists():
        with open(path, "wb") as fh:
            for i in range(n):
                rng = np.random.default_rng(i)
                fh.write(
                    rng.integers(0, 256, (ROWS, SIZE, SIZE, 3), np.uint8).tobytes()
                )

    class DiskTracks(FaceTracks):
        def __init__(self, t, offset):
            for f in dataclasses.fields(FaceTracks):
                if f.name != "crops":
                    object.__setattr__(self, f.name, getattr(t, f.name))
            object.__setattr__(self, "_offset", offset)

        @property
        def crops(self):
            raise AssertionError("whole crops read")

        size = property(lambda self: SIZE)

        def __len__(self):
            return ROWS

        def crops_at(self, rows):
            rows = np.arange(ROWS)[np.asarray(rows)]
            out = np.empty((len(rows), SIZE, SIZE, 3), np.uint8)
            fd = os.open(path, os.O_RDONLY)
            try:
                for j, r in enumerate(rows):
                    buf = os.pread(fd, row_bytes, self._offset + int(r) * row_bytes)
                    out[j] = np.frombuffer(buf, np.uint8).reshape(SIZE, SIZE, 3)
            finally:
                os.close(fd)
            return out

    out = []
    for i in range(n):
        rng = np.random.default_rng(i)
        crops = (
            np.zeros((ROWS, SIZE, SIZE, 3), np.uint8)
            if lazy
            else rng.integers(0, 256, (ROWS, SIZE, SIZE, 3), np.uint8)
        )
        t = FaceTracks(
            f"v{i}.mp4",
            frame_indices=np.arange(ROWS),
            face_found=np.ones(ROWS, bool),
            crops=crops,
            boxes=np.tile([[8, 8, 56, 56]], (ROWS, 1)),
            crop_boxes=np.tile([[0, 0, SIZE, SIZE]], (ROWS, 1)),
            probs=np.ones(ROWS),
            landmarks=np.full((ROWS, 5, 2), SIZE / 2),
            track_ids=np.zeros(ROWS, int),
            frame_pos=np.arange(ROWS),
            detected=np.ones(ROWS, bool),
        )
        out.append(DiskTracks(t, i * ROWS * row_bytes) if lazy else t)
    return out


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one(n: int, lazy: bool, folder: str) -> dict:
    import warnings

    import torch

    from sklearn_deepfake.nets import FaceCNNClassifier

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    start_mib = _peak_mib()
    X = _records(n, Path(folder), lazy)
    y = np.arange(n) % 6 == 0  # 5 fakes per real video
    built = _peak_mib()
    clf = FaceCNNClassifier(
        "mobilenetv3_small_050",
        max_epochs=1,
        batch_size=64,
        frames_per_video=2,
        class_balance="epoch",
        valid_size=None,
        augment=False,
        device="cpu",
        random_state=0,
    )
    t0 = time.perf_counter()
    clf.fit(X, y)
    t1 = time.perf_counter()
    fitted = _peak_mib()
    proba = clf.predict_proba(X)
    t2 = time.perf_counter()
    return {
        "n_videos": n,
        "records": "lazy (pread per row)" if lazy else "in memory",
        "peak_rss_mib_start": round(start_mib, 1),
        "peak_rss_mib_records": round(built, 1),
        "peak_rss_mib_fit": round(fitted, 1),
        "peak_rss_mib_predict": round(_peak_mib(), 1),
        "fit_s_per_video": round((t1 - t0) / n, 5),
        "predict_s_per_video": round((t2 - t1) / n, 5),
        "proba_checksum": float(np.round(proba[:, 1].sum(), 6)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[200, 1600])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n, lazy, folder = int(args.child[0]), args.child[1] == "1", args.child[2]
        print(json.dumps(_one(n, lazy, folder)))
        return
    rows = []
    for n in args.n:
        with tempfile.TemporaryDirectory() as folder:
            for lazy in (True, False):
                cmd = [sys.executable, __file__, "--child", str(n), str(int(lazy))]
                out = subprocess.run(
                    [*cmd, folder], check=True, capture_output=True, text=True
                )
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(rows[-1], flush=True)
    keys = list(rows[0])
    md = "| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n"
    md += "\n".join("| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _results import write_results

    write_results(
        "stream_nets",
        inputs={
            "n_videos": args.n,
            "rows_per_video": ROWS,
            "crop_size": SIZE,
            "backbone": "mobilenetv3_small_050",
            "fit": "1 epoch, frames_per_video=2, class_balance='epoch', "
            "batch_size=64, 1 torch thread, num_workers=0",
            "labels": "5 fakes per real video",
        },
        outputs=rows,
        markdown=md,
    )


if __name__ == "__main__":
    main()
