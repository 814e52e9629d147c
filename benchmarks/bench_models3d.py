"""CPU speed of the 3-D clip networks: forward throughput and one training step.

For each architecture of ``sklearn_deepfake.nets._models3d`` this measures,
on random clips of batch 2 and T frames:

- forward throughput in clips/s (eval mode, ``torch.inference_mode``),
- the time of one training step (forward, BCE loss, backward, AdamW step),

with the contiguous and the ``channels_last_3d`` memory formats. Weights are
random (speed does not depend on them). Each figure is the best of
``--repeats`` timed runs after one warm-up run.

Run::

    /work/venv/bin/python benchmarks/bench_models3d.py
    /work/venv/bin/python benchmarks/bench_models3d.py --archs r3d_18 --sizes 112

Numbers depend on the machine's load; the 1-minute load average is printed.
Everything printed is written to ``benchmarks/results/bench_models3d.json`` and
``.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results

from sklearn_deepfake.nets._models3d import (
    VIDEO_ARCHS,
    build_video_model,
)

# On a shared machine other processes only ever slow a run down, so the
# fastest of several timed repetitions (after a warm-up) is reported.


def _time_forward(model, x, repeats):
    times = []
    with torch.inference_mode():
        model(x)  # warm-up: oneDNN primitives, allocator
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return x.shape[0] / min(times)


def _time_train_step(model, x, y, repeats):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    times = []
    for _ in range(repeats + 1):  # the first step is the warm-up
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=list(VIDEO_ARCHS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[112])
    parser.add_argument(
        "--big-size", type=int, default=224, help="extra size run for r3d_18 only"
    )
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    runs = [(a, s) for a in args.archs for s in args.sizes]
    if args.big_size and "r3d_18" in args.archs:
        runs.append(("r3d_18", args.big_size))
    print(
        f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}, "
        f"T={args.frames}, load average at start {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'arch':<12} {'px':>4} {'layout':<16} {'params M':>8} "
        f"{'fwd clips/s':>11} {'train step s':>12}"
    )
    print(header)
    print("-" * len(header))
    g = torch.Generator().manual_seed(0)
    load_start = os.getloadavg()[0]
    rows = []
    for arch, size in runs:
        x0 = torch.randn(args.batch, 3, args.frames, size, size, generator=g)
        y = torch.randint(0, 2, (args.batch, 1), generator=g).float()
        for channels_last in (False, True):
            model = build_video_model(arch, random_state=0).eval()
            x = x0
            if channels_last:
                model = model.to(memory_format=torch.channels_last_3d)
                x = x0.contiguous(memory_format=torch.channels_last_3d)
            n_params = sum(p.numel() for p in model.parameters()) / 1e6
            fwd = _time_forward(model, x, args.repeats)
            step = _time_train_step(model, x, y, args.repeats)
            layout = "channels_last_3d" if channels_last else "contiguous"
            rows.append(
                {
                    "arch": arch,
                    "size": size,
                    "layout": layout,
                    "params_millions": n_params,
                    "forward_clips_per_s": fwd,
                    "train_step_s": step,
                }
            )
            print(
                f"{arch:<12} {size:>4} {layout:<16} {n_params:>8.1f} "
                f"{fwd:>11.2f} {step:>12.2f}",
                flush=True,
            )
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    write_results(
        "bench_models3d",
        inputs={
            **vars(args),
            "torch_threads": args.threads,
            "load_avg_1min_at_start": load_start,
        },
        outputs={"rows": rows, "load_avg_1min_at_end": os.getloadavg()[0]},
        markdown="\n".join(
            [
                "| arch | px | layout | params M | forward clips/s | train step s |",
                "|---|---|---|---|---|---|",
                *[
                    f"| {r['arch']} | {r['size']} | {r['layout']} | "
                    f"{r['params_millions']:.1f} | {r['forward_clips_per_s']:.2f} | "
                    f"{r['train_step_s']:.2f} |"
                    for r in rows
                ],
            ]
        ),
    )


if __name__ == "__main__":
    main()
