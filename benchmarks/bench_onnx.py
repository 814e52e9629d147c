"""CPU speed of face-crop embeddings: torch CNNFeatureExtractor vs onnxruntime.

For each backbone, a ``CNNFeatureExtractor`` (random weights: speed does not
depend on them) is exported with :func:`sklearn_deepfake.export.export_onnx`
and the same batch of random ``uint8`` crops goes through
``CNNFeatureExtractor.transform`` (torch, channels-last and contiguous
memory formats) and ``ONNXFeatureExtractor.transform`` (onnxruntime, CPU
provider). Both include the same pre-processing (scaling, normalisation);
the fine-tuned ``FaceCNNClassifier`` graph is the same backbone with a
one-logit head, so its speed is the same to within a few percent.

Each figure is crops/s of the best of ``--repeats`` timed runs after one
warm-up run, with ``--threads`` intra-op threads for both runtimes. The
largest absolute difference between the two embeddings is printed too,
beside the largest absolute value of the torch embedding (its scale).

Run::

    /work/venv/bin/pip install 'sklearn-deepfake[onnx]'
    /work/venv/bin/python benchmarks/bench_onnx.py
    /work/venv/bin/python benchmarks/bench_onnx.py --backbones resnet18 \
        --size 224 --n-crops 64 --threads 4 --repeats 5

Numbers depend on the machine's load; the 1-minute load average is printed.
Everything printed is written to ``benchmarks/results/bench_onnx.json`` and
``.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results

from sklearn_deepfake.export import ONNXFeatureExtractor, export_onnx
from sklearn_deepfake.features import CNNFeatureExtractor
from sklearn_deepfake.utils import FaceTracks


def _tracks(n: int, size: int) -> list[FaceTracks]:
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return [
        FaceTracks(
            "bench.mp4",
            frame_indices=np.arange(n),
            face_found=np.ones(n, bool),
            crops=crops,
            boxes=np.zeros((n, 4)),
            crop_boxes=np.zeros((n, 4)),
            probs=np.ones(n),
            landmarks=np.zeros((n, 5, 2)),
            track_ids=np.zeros(n, int),
            frame_pos=np.arange(n),
            detected=np.ones(n, bool),
        )
    ]


def _best_rate(transform, X, n: int, repeats: int) -> tuple[float, list]:
    out = transform(X)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        transform(X)
        times.append(time.perf_counter() - start)
    return n / min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backbones", nargs="+", default=["resnet18", "efficientnet_b0"]
    )
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--n-crops", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    X = _tracks(args.n_crops, args.size)
    load_start = os.getloadavg()[0]
    rows = []
    print(
        f"load average {os.getloadavg()[0]:.2f}, {args.threads} thread(s), "
        f"{args.n_crops} crops of {args.size}x{args.size}, batch {args.batch_size}"
    )
    print(
        f"{'backbone':<18}{'runtime':<26}{'crops/s':>9}{'max |diff|':>12}"
        f"{'max |torch|':>13}"
    )
    folder = tempfile.mkdtemp()
    for name in args.backbones:
        rates = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # random init
            for cl in (True, False):
                ext = CNNFeatureExtractor(
                    name, device="cpu", channels_last=cl, batch_size=args.batch_size
                ).fit()
                label = f"torch {'channels_last' if cl else 'contiguous'}"
                rates[label], ref = _best_rate(
                    ext.transform, X, args.n_crops, args.repeats
                )
            path = export_onnx(
                ext, os.path.join(folder, f"{name}.onnx"), size=args.size
            )
        onnx_ext = ONNXFeatureExtractor(
            path, batch_size=args.batch_size, n_threads=args.threads
        ).fit()
        rate, got = _best_rate(onnx_ext.transform, X, args.n_crops, args.repeats)
        diff = float(np.abs(got[0] - ref[0]).max())
        scale = float(np.abs(ref[0]).max())
        for label, r in rates.items():
            rows.append({"backbone": name, "runtime": label, "crops_per_s": r})
            print(f"{name:<18}{label:<26}{r:>9.1f}")
        rows.append(
            {
                "backbone": name,
                "runtime": "onnxruntime CPU",
                "crops_per_s": rate,
                "max_abs_diff": diff,
                "max_abs_torch": scale,
            }
        )
        print(
            f"{name:<18}{'onnxruntime CPU':<26}{rate:>9.1f}{diff:>12.2e}{scale:>13.2e}"
        )
    write_results(
        "bench_onnx",
        inputs={**vars(args), "load_avg_1min_at_start": load_start},
        outputs={"rows": rows, "load_avg_1min_at_end": os.getloadavg()[0]},
        markdown="\n".join(
            [
                "| backbone | runtime | crops/s | max abs diff |",
                "|---|---|---|---|",
                *[
                    f"| {r['backbone']} | {r['runtime']} | {r['crops_per_s']:.1f} | "
                    f"{r['max_abs_diff']:.2e} |"
                    if "max_abs_diff" in r
                    else f"| {r['backbone']} | {r['runtime']} | "
                    f"{r['crops_per_s']:.1f} | |"
                    for r in rows
                ],
            ]
        ),
    )


if __name__ == "__main__":
    main()
