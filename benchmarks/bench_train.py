"""Training and inference speed of the deep classifiers, and epoch time.

For the 2-D ``FaceCNNClassifier`` (timm backbones; figures in crops/s) and
the 3-D ``VideoCNNClassifier`` (figures in clips/s), at each crop size:

- ``train/s``: one optimisation step on a batch, exactly the estimators'
  step: their own network (``FaceCNNClassifier._build_module``, or
  ``VideoNet(build_video_model(arch))``) inside their skorch ``FrameNet``,
  whose ``train_step`` does forward, BCE loss, backward, gradient clipping
  and the AdamW step (mixed precision on CUDA, as in ``fit``);
- ``infer/s``: a forward pass under ``torch.inference_mode`` as in
  ``predict_proba`` (mixed precision on CUDA for ``FaceCNNClassifier``,
  which also feeds ``channels_last`` input there; ``VideoCNNClassifier``
  runs float32, contiguous: ``--channels-last on`` and ``--amp on``
  measure what those would bring);
- ``aug ms``: the default training augmentation of one crop
  (``FaceAugmenter``) or one clip (``clip_augment`` with the estimator's
  defaults), mean over 20 random draws; it runs in the training process
  (``num_workers=0``);
- the time of one training epoch over ``--n-videos`` videos, extrapolated
  from those figures (formula below), and the prediction time per video
  once its faces are cut.

Weights are random (no download; speed does not depend on them). Inputs
are random uint8 crops or clips of the given size. Each figure is the
median of ``--repeats`` timed runs after ``--warmup`` untimed ones.

Epoch formula (data loading of cached crops is not counted)::

    FaceCNN : n_videos * frames_per_video * (1 / train_rate + aug_s)
    VideoCNN: n_videos * clips_per_video * (1 / train_rate + aug_s)
    clips_per_video = min(clips in n_frames sampled frames, 2)

with the estimators' defaults ``frames_per_video=8``, ``clip_len=16``,
``stride=8``, ``clips_per_video=2`` and 32 sampled frames per video
(3 clips of 16 frames, 2 of them used per epoch). The validation pass
(``valid_size=0.2``) and early stopping are not included. Cutting the faces
is a one-off cost per video (the face cache keeps them for every later
epoch and fit); ``--faces DIR`` measures it on the videos of ``DIR``
(sampling 32 frames, MTCNN, tracking, cropping).

Usage::

    python benchmarks/bench_train.py --quick
    python benchmarks/bench_train.py --models resnet18 r3d_18 --sizes 112
    python benchmarks/bench_train.py --device cuda --batch 32
    python benchmarks/bench_train.py --faces ../shared/data/dfdc-1080p --models

Numbers depend on the machine's load; the load average is printed.
Every row printed is written to ``benchmarks/results/bench_train.json`` and the
printed tables to ``.md``.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results

FACE_MODELS = ("seresnext50_32x4d", "resnet18", "efficientnet_b0")
VIDEO_MODELS = ("r3d_18", "mc3_18", "r2plus1d_18", "r3d_34", "i3d_r18")


def _is_video(model: str) -> bool:
    from sklearn_deepfake.nets._models3d import VIDEO_ARCHS

    return model in VIDEO_ARCHS


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn, device: torch.device, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _build(model: str, device: torch.device, channels_last: bool, amp: bool):
    """The estimator's module and its skorch net, ready for ``train_step``."""
    from sklearn_deepfake.nets import FaceCNNClassifier
    from sklearn_deepfake.nets._models3d import build_video_model
    from sklearn_deepfake.nets._training import FrameNet
    from sklearn_deepfake.nets._video_cnn import VideoNet

    if _is_video(model):
        module = VideoNet(build_video_model(model, random_state=0))
        if channels_last:
            module = module.to(memory_format=torch.channels_last_3d)
        groups = []
    else:
        clf = FaceCNNClassifier(model)
        clf.device_ = device  # what fit resolves; sets FaceNet.channels_last
        module = clf._build_module(None, 0)
        # FaceNet turns its input channels_last (the weights follow per call).
        module.channels_last = channels_last
        head = {id(p) for p in module.backbone.get_classifier().parameters()}
        groups = [
            (n, {"lr": 1e-3}) for n, p in module.named_parameters() if id(p) in head
        ]
    net = FrameNet(
        module,
        criterion=torch.nn.BCEWithLogitsLoss,
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=1e-2,
        optimizer__param_groups=groups,
        lr=1e-4,
        device=device,
        verbose=0,
    )
    net.initialize()
    net.grad_clip = 1.0
    net.use_amp = amp
    net.on_train_begin(net)  # mixing generator and gradient scaler
    return net


def _augment_seconds(model: str, size: int, clip_len: int, n: int) -> float:
    """Mean seconds of the default training augmentation of one item.

    The mean, not the median, over ``n`` random draws: the changes are
    random (an H.264 re-encoding is rare and slow), and an epoch pays their
    expected cost.
    """
    import cv2

    rng = np.random.default_rng(0)
    # A smooth image (random noise would make H.264 and JPEG unusually slow).
    low = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    img = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
    if _is_video(model):
        from sklearn_deepfake.nets._clips import clip_augment
        from sklearn_deepfake.nets._video_cnn import _resolve_clip_augment

        kw = _resolve_clip_augment(True)
        clip = np.stack([np.roll(img, t, axis=1) for t in range(clip_len)])

        def fn():
            clip_augment(clip, rng, **kw)

    else:
        from sklearn_deepfake.nets._augment import FaceAugmenter, resolve_augment

        aug = FaceAugmenter(resolve_augment(None))
        # Five landmarks where a face crop has its eyes, nose and mouth corners.
        lm = size * np.array(
            [[0.35, 0.4], [0.65, 0.4], [0.5, 0.55], [0.38, 0.7], [0.62, 0.7]]
        )

        def fn():
            aug(img, lm, rng)

    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def _n_clips(n_frames: int, clip_len: int, stride: int) -> int:
    """Clips ``make_clips`` cuts from one unbroken run of ``n_frames``."""
    if n_frames < clip_len:
        return 1 if n_frames else 0
    starts = list(range(0, n_frames - clip_len + 1, stride))
    return len(starts) + (starts[-1] + clip_len < n_frames)


def _measure(model, size, device, args, channels_last, amp_train, amp_infer):
    video = _is_video(model)
    batch = args.batch or (4 if video else 32)
    net = _build(model, device, channels_last, amp_train)
    g = torch.Generator().manual_seed(0)
    shape = (batch, 3, args.clip_len, size, size) if video else (batch, 3, size, size)
    x = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8).to(device)
    if video and channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    y = torch.randint(0, 2, (batch,), generator=g).float().to(device)
    step = _median_time(
        lambda: net.train_step((x, y)), device, args.warmup, args.repeats
    )
    module = net.module_.eval()

    def infer():
        with torch.inference_mode(), torch.autocast(device.type, enabled=amp_infer):
            module(x)

    fwd = _median_time(infer, device, args.warmup, args.repeats)
    n_params = sum(p.numel() for p in module.parameters()) / 1e6
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return batch, n_params, batch / step, batch / fwd


def _face_extraction(folder: str, size: int, device: str) -> list[dict]:
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    paths = sorted(glob.glob(os.path.join(folder, "*.mp4")))
    if not paths:
        print(f"no .mp4 in {folder}: face extraction not measured")
        return []
    print(f"\nFace extraction, once per video ({len(paths)} videos in {folder}):\n")
    print("| sampling | crop box | s/video (median) |")
    print("|---|---|---|")
    settings = [
        ("32 uniform", FrameSampler(32), "frame"),
        ("32 every 2nd", FrameSampler(32, strategy="every_nth", step=2), "track"),
    ]
    rows = []
    for name, sampler, box in settings:
        cropper = FaceCropper(size=size, clip_box=box, device=device)
        times = []
        for path in paths:
            start = time.perf_counter()
            cropper.fit_transform(sampler.fit_transform([path]))
            times.append(time.perf_counter() - start)
        print(f"| {name} | {box} | {statistics.median(times):.2f} |", flush=True)
        rows.append(
            {
                "sampling": name,
                "crop_box": box,
                "s_per_video_median": statistics.median(times),
                "videos": len(paths),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=[*FACE_MODELS, *VIDEO_MODELS])
    parser.add_argument("--sizes", nargs="+", type=int, default=[112, 224])
    parser.add_argument(
        "--batch", type=int, default=None, help="default: 32 crops or 4 clips"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument(
        "--device", choices=["all", "cpu", "cuda"], default="all",
        help="'all': CPU, then CUDA when available",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--quick", action="store_true", help="batch 2, 2 repeats (cheap on CPU)"
    )
    parser.add_argument(
        "--channels-last", choices=["auto", "on", "off"], default="auto"
    )
    parser.add_argument("--amp", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--clip-len", type=int, default=16)
    parser.add_argument("--stride", type=int, default=8)
    parser.add_argument("--clips-per-video", type=int, default=2)
    parser.add_argument("--frames-per-video", type=int, default=8)
    parser.add_argument("--n-frames", type=int, default=32)
    parser.add_argument("--n-videos", type=int, default=1000)
    parser.add_argument("--faces", default=None, help="folder of videos: time faces")
    parser.add_argument("--face-size", type=int, default=128)
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.repeats = 2, 2
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)

    devices = []
    if args.device in ("all", "cpu"):
        devices.append(torch.device("cpu"))
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            devices.append(torch.device("cuda"))
            torch.backends.cudnn.benchmark = True
        else:
            print("no CUDA: CUDA rows skipped")
    load_start = os.getloadavg()[0]
    rows, lines = [], []
    print(
        f"torch {torch.__version__}, {args.threads} CPU threads, random init, "
        f"batch {args.batch or '32 crops / 4 clips'}, median of {args.repeats} "
        f"after {args.warmup} warm-up, T={args.clip_len} frames per clip, "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    clips_used = min(
        _n_clips(args.n_frames, args.clip_len, args.stride), args.clips_per_video
    )
    clips_all = _n_clips(args.n_frames, args.clip_len, args.stride)
    print(
        f"epoch over {args.n_videos} videos: FaceCNN {args.frames_per_video} crops "
        f"per video; VideoCNN {clips_used} clips per video ({clips_all} clips of "
        f"{args.clip_len} in {args.n_frames} frames, stride {args.stride}, "
        f"clips_per_video={args.clips_per_video}); predict uses all "
        f"{args.n_frames} crops / {clips_all} clips\n"
    )
    lines += [
        "| model | device | px | batch | params M | layout | train/s | infer/s "
        "| aug ms | epoch min | predict s/video |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines))
    for device in devices:
        cuda = device.type == "cuda"
        for model in args.models:
            video = _is_video(model)
            for size in args.sizes:
                cl = {"auto": cuda and not video, "on": True, "off": False}
                channels_last = cl[args.channels_last]
                amp_train = cuda and args.amp != "off"
                amp_infer = cuda and (
                    args.amp == "on" or (args.amp == "auto" and not video)
                )
                batch, n_params, train_rate, infer_rate = _measure(
                    model, size, device, args, channels_last, amp_train, amp_infer
                )
                aug = _augment_seconds(model, size, args.clip_len, 20)
                per_video = clips_used if video else args.frames_per_video
                epoch = args.n_videos * per_video * (1 / train_rate + aug)
                predict = (clips_all if video else args.n_frames) / infer_rate
                unit = "clips" if video else "crops"
                layout = ("channels_last" if channels_last else "contiguous") + (
                    ", amp " + ("train+infer" if amp_infer else "train")
                    if amp_train
                    else ""
                )
                lines.append(
                    f"| {model} | {device.type} | {size} | {batch} | {n_params:.1f} "
                    f"| {layout} | {train_rate:.2f} {unit} | {infer_rate:.2f} {unit} "
                    f"| {1000 * aug:.1f} | {epoch / 60:.1f} | {predict:.2f} |"
                )
                print(lines[-1], flush=True)
                rows.append(
                    {
                        "model": model,
                        "device": device.type,
                        "size": size,
                        "batch": batch,
                        "params_millions": n_params,
                        "layout": layout,
                        "unit": unit,
                        "train_per_s": train_rate,
                        "infer_per_s": infer_rate,
                        "augment_ms": 1000 * aug,
                        "epoch_minutes": epoch / 60,
                        "predict_s_per_video": predict,
                    }
                )
    faces = _face_extraction(args.faces, args.face_size, "cpu") if args.faces else []
    if faces:
        lines += [
            "",
            "| sampling | crop box | s/video (median) |",
            "|---|---|---|",
            *[
                f"| {r['sampling']} | {r['crop_box']} | {r['s_per_video_median']:.2f} |"
                for r in faces
            ],
        ]
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    write_results(
        "bench_train",
        inputs={
            **vars(args),
            "load_avg_1min_at_start": load_start,
            "clips_used_per_video": clips_used,
            "clips_per_video_all": clips_all,
        },
        outputs={
            "rows": rows,
            "face_extraction": faces,
            "load_avg_1min_at_end": os.getloadavg()[0],
        },
        markdown="\n".join(lines),
    )
    print(
        "epoch min = n_videos * items per video * (1 / train rate + aug s); "
        "face extraction (once per video) and validation are not included."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
