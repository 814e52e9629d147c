"""Device check: crops/s per backbone, MTCNN faces/s, seconds per 1080p clip.

Driven by ``benchmarks/gpu_check.sh``; usage::

    python benchmarks/gpu_check.py [--cpu] [--seconds 8] [--data DIR]

On CUDA (the default when available) each backbone is timed for training
(AdamW steps under ``torch.autocast`` float16 with a gradient scaler, the
input in ``channels_last``) and for inference (autocast, inference mode),
with random weights (speed does not depend on them):

- ``efficientnet_b0`` and ``tf_efficientnet_lite0`` at 224 px,
- ``seresnext50_32x4d`` at 224 px,
- ``tf_efficientnet_b7`` at 380 px,
- torchvision's ``r2plus1d_18`` on clips of 16 frames at 112 px (a crop is
  one frame of a clip).

Then MTCNN (facenet-pytorch, all frames in one batched call, at the
library's detection scale) on 1080p frames, and the end-to-end seconds per
clip of the default preset (``make_default_pipeline()``, no face cache) on
the shared 1080p DFDC clips, or on a synthetic 1920x1080 clip when they are
absent. ``--cpu`` runs every step on CPU at tiny sizes (32 px crops, batch
2, no warm-up, 32 px clips of 4 frames, 8-frame 320x180 synthetic clips, 2
torch threads) so that the
script is exercised where no GPU is lent; those figures say nothing about
speed. Each measurement runs for about ``--seconds`` after a warm-up.

Every result is printed as one line (``train <name> ...: N crops/s``,
``infer ...``, ``mtcnn ...: N faces/s``, ``end-to-end ...: N s/clip``) and
written to ``benchmarks/results/gpu_check_<device>.json``.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")

# name, kind, crop size, batch (CUDA); CPU uses 64 px (32 px clips), batch 2.
BACKBONES = [
    ("efficientnet_b0", "2d", 224, 64),
    ("tf_efficientnet_lite0", "2d", 224, 64),
    ("seresnext50_32x4d", "2d", 224, 64),
    ("tf_efficientnet_b7", "2d", 380, 16),
    ("r2plus1d_18", "3d", 112, 8),
]
CLIP_FRAMES = {"cuda": 16, "cpu": 4}


def _build(name: str, kind: str) -> Any:
    if kind == "3d":
        from torchvision.models.video import r2plus1d_18

        return r2plus1d_18(weights=None, num_classes=1)
    import timm

    return timm.create_model(name, pretrained=False, num_classes=1)


def _round(x: float) -> float:
    """Four significant digits, so that slow CPU rates do not print as 0."""
    return float(f"{x:.4g}")


def _fmt(x: float) -> str:
    """A rate without exponent: 12345, 12.35 or 0.0123."""
    return f"{x:.0f}" if x >= 1000 else f"{x:.4g}" if x >= 0.001 else f"{x:.6f}"


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(step: Any, device: Any, seconds: float, warmup: int) -> tuple[float, int]:
    """Seconds per call of ``step`` after ``warmup`` calls; and the calls timed."""
    for _ in range(warmup):
        step()
    _sync(device)
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        if time.perf_counter() - t0 >= seconds:
            break
    _sync(device)
    return (time.perf_counter() - t0) / n, n


def bench_backbone(
    name: str, kind: str, size: int, batch: int, device: Any, seconds: float
) -> dict[str, Any]:
    """Training and inference crops/s of one backbone at random init."""
    import torch

    cuda = device.type == "cuda"
    if not cuda:
        size, batch = 32, 2  # batch norm needs 2 samples to train
    frames = CLIP_FRAMES[device.type] if kind == "3d" else 1
    shape = (batch, 3, frames, size, size) if kind == "3d" else (batch, 3, size, size)
    fmt = torch.channels_last_3d if kind == "3d" else torch.channels_last
    model = _build(name, kind).to(device)
    if cuda:
        model = model.to(memory_format=fmt)
    x = torch.randn(shape, device=device)
    if cuda:
        x = x.contiguous(memory_format=fmt)
    y = torch.randint(0, 2, (batch, 1), device=device).float()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=cuda)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def train_step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=cuda):
            loss = loss_fn(model(x).float(), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    def infer_step() -> None:
        with (
            torch.inference_mode(),
            torch.autocast(device.type, dtype=torch.float16, enabled=cuda),
        ):
            model(x)

    warmup = 3 if cuda else 0
    model.train()
    t_train, n_train = _timed(train_step, device, seconds, warmup)
    model.eval()
    t_infer, n_infer = _timed(infer_step, device, seconds, warmup)
    crops = batch * frames
    out = {
        "backbone": name,
        "size": size,
        "batch": batch,
        "frames_per_clip": frames,
        "train_crops_per_s": _round(crops / t_train),
        "infer_crops_per_s": _round(crops / t_infer),
        "train_steps_timed": n_train,
        "infer_steps_timed": n_infer,
    }
    if cuda:
        out["peak_memory_gib"] = round(
            torch.cuda.max_memory_allocated(device) / 2**30, 2
        )
        torch.cuda.reset_peak_memory_stats(device)
    return out


def _synthetic_clips(folder: str, cpu: bool) -> list[str]:
    from sklearn_deepfake.datasets import make_face_videos

    frame_size = (320, 180) if cpu else (1920, 1080)
    n_frames = 8 if cpu else 64
    data = make_face_videos(
        n_videos=2,
        n_frames=n_frames,
        frame_size=frame_size,
        directory=folder,
        random_state=0,
    )
    return [str(p) for p in data.paths]


def _frames(path: str, n: int, backend: str = "auto") -> list[np.ndarray]:
    from sklearn_deepfake.video import iter_frames, probe_video

    if backend == "opencv":  # OpenCV alone: a machine without PyAV
        import cv2

        cap = cv2.VideoCapture(path)
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        frames = []
        for i in (2 * np.arange(n) + 1) * total // (2 * n):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
            ok, bgr = cap.read()
            if ok:
                frames.append(np.ascontiguousarray(bgr[..., ::-1]))
        cap.release()
        return frames
    total = probe_video(path).n_frames
    idx = (2 * np.arange(n) + 1) * total // (2 * n)
    return [np.asarray(f) for _, f in iter_frames(path, idx, backend=backend)]


def bench_mtcnn(
    clip: str, device: Any, seconds: float, backend: str = "auto"
) -> dict[str, Any]:
    """Faces/s of MTCNN run on a batch of frames in one call."""
    from sklearn_deepfake.faces._detector import (
        detect_faces,
        get_mtcnn,
        resolve_detect_scale,
    )

    n = 32 if device.type == "cuda" else 4
    frames = _frames(clip, n, backend)
    net = get_mtcnn(device)
    scale = resolve_detect_scale("auto", frames[0].shape)
    found: list[int] = []

    def step() -> None:
        dets = detect_faces(
            net,
            frames,
            scale=scale,
            min_face_size=40,
            thresholds=(0.6, 0.7, 0.7),
            min_confidence=0.7,
            batch=True,
        )
        found.append(sum(len(d) for d in dets))

    t, n_calls = _timed(step, device, seconds, warmup=1)
    faces = found[-1]
    return {
        "frames": n,
        "frame_size": list(frames[0].shape[:2]),
        "detect_scale": round(scale, 3),
        "faces_per_batch": faces,
        "frames_per_s": _round(n / t),
        "faces_per_s": _round(faces / t),
        "calls_timed": n_calls,
    }


def bench_end_to_end(clips: list[str], device: Any, cpu: bool) -> dict[str, Any]:
    """Seconds per clip of the default preset, after a warm-up fit."""
    from sklearn_deepfake import make_default_pipeline

    kwargs = {"n_frames": 4, "size": 32} if cpu else {}
    model = make_default_pipeline(device=str(device), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(clips, np.arange(len(clips)) % 2)  # labels only to fit a head
        t = time.perf_counter()
        model.predict_proba(clips)
        per_clip = (time.perf_counter() - t) / len(clips)
    fs = model.named_steps["framesampler"]
    fc = model.named_steps["facecropper"]
    return {
        "clips": [os.path.basename(c) for c in clips],
        "n_frames": fs.n_frames,
        "crop_size": fc.size,
        "seconds_per_clip": round(per_clip, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="tiny sizes on CPU")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--data", default=str(SHARED / "dfdc-1080p"))
    parser.add_argument(
        "--only", nargs="*", default=None, help="backbone names to time (default: all)"
    )
    parser.add_argument("--folder", default=None, help="results folder")
    parser.add_argument(
        "--backend",
        default="auto",
        choices=("auto", "pyav", "opencv"),
        help="decoder of MTCNN's frames (opencv: a machine without PyAV)",
    )
    parser.add_argument(
        "--no-end-to-end",
        action="store_true",
        help="skip the default preset's seconds per clip (it decodes with PyAV)",
    )
    args = parser.parse_args()
    import torch

    if not args.cpu and not torch.cuda.is_available():
        print("gpu_check: CUDA is not available; run with --cpu", file=sys.stderr)
        return 2
    device = torch.device("cpu" if args.cpu else "cuda")
    seconds = args.seconds if args.seconds is not None else (0.5 if args.cpu else 8.0)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        name = torch.cuda.get_device_name(device)
    else:
        torch.set_num_threads(min(2, os.cpu_count() or 1))
        name = "cpu"
    tag = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    print(f"gpu_check on {name} (torch {torch.__version__})", flush=True)
    t_start = time.perf_counter()
    backbones = []
    for bname, kind, size, batch in BACKBONES:
        if args.only is not None and bname not in args.only:
            continue
        r = bench_backbone(bname, kind, size, batch, device, seconds)
        backbones.append(r)
        if device.type == "cuda":
            torch.cuda.empty_cache()
        what = f"{bname} {r['size']}px batch {r['batch']}"
        if kind == "3d":
            what += f" x {r['frames_per_clip']} frames"
        print(f"train {what}: {_fmt(r['train_crops_per_s'])} crops/s", flush=True)
        print(f"infer {what}: {_fmt(r['infer_crops_per_s'])} crops/s", flush=True)
    tmp = tempfile.mkdtemp(prefix="gpu_check_")
    real = sorted(glob.glob(os.path.join(args.data, "*.mp4")))
    clips = real if real and not args.cpu else _synthetic_clips(tmp, args.cpu)
    source = "dfdc-1080p" if clips is real else "synthetic"
    m = bench_mtcnn(clips[0], device, seconds, args.backend)
    h, w = m["frame_size"]
    print(
        f"mtcnn batched {m['frames']} frames {w}x{h} ({source}): "
        f"{_fmt(m['faces_per_s'])} faces/s, {_fmt(m['frames_per_s'])} frames/s",
        flush=True,
    )
    e = None
    if not args.no_end_to_end:
        e = bench_end_to_end(clips, device, args.cpu)
        print(
            f"end-to-end default preset ({source}, {e['n_frames']} frames, "
            f"{e['crop_size']} px): {e['seconds_per_clip']:.2f} s/clip",
            flush=True,
        )
    total = time.perf_counter() - t_start
    path = write_results(
        f"gpu_check_{tag}",
        inputs={
            "device": name,
            "cpu_mode": args.cpu,
            "seconds_per_measure": seconds,
            "clips": source,
            "amp": device.type == "cuda",
            "channels_last": device.type == "cuda",
            "mtcnn_decoder": args.backend,
        },
        outputs={
            "backbones": backbones,
            "mtcnn": m,
            "end_to_end": e,
            "total_seconds": round(total, 1),
        },
        folder=args.folder,
    )
    print(f"total {total:.1f} s; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
