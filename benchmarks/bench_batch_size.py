"""Crops per forward pass on the CPU: which batch size is fastest.

``CNNFeatureExtractor(batch_size="auto")`` uses 64 crops a pass on a GPU
and, on the CPU, as many as make about 200,000 input pixels (4 at 224 px, 12
at 128 px). This script is the measurement behind that rule: on real face
crops (32 frames of each clip, the ``general-blend`` preset's sampler and
face step, 128-px crops resized by the extractor), for each backbone and batch
size it times ``transform`` over every clip (median of ``--repeat`` runs after
one warm-up, the batch sizes taking turns) and checks that the features do
not depend on the batch size.
It also times the shipped ``general`` model end to end (``predict_proba`` on
the same clips, at the model's own frame count: decode, faces, features,
classifier) with its FaceRes extractor at 64 crops a pass and at
``"auto"``, taking turns.
And it times fine-tuned networks' scoring (``FaceCNNClassifier.predict_proba``
on the same crops) at 32 crops a pass (the training ``batch_size``, what
scoring used before ``predict_batch_size``) and at ``"auto"``, with and
without channels-last weights and input. And it times the exported
extractors on onnxruntime's CPU provider (``ONNXFeatureExtractor``) at each
batch size, against the torch extractor they were exported from
(``--parts onnx``).

Writes ``benchmarks/results/bench_batch_size.json`` and ``.md``. Usage::

    PYTHONPATH=. python benchmarks/bench_batch_size.py        # about 10 min
    PYTHONPATH=. python benchmarks/bench_batch_size.py --repeat 1 --clips 2
    PYTHONPATH=. python benchmarks/bench_batch_size.py --parts nets
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _results import RESULTS, shared_data_dir, write_results  # noqa: E402

PARTS = ("extractors", "end-to-end", "nets", "onnx")
#: (backbone, pretrained, input size) of the exported extractors timed on
#: onnxruntime's CPU provider, and the crops a run they are timed at.
ONNX_BACKBONES = (("hse_faceres", True, None), ("tf_efficientnet_lite0", True, 224))
ONNX_BATCH_SIZES = (64, 32, 16, 8, 4)
#: dlib's network is timed on torch, then on onnxruntime (the reference first).
RUNTIMES = ("torch", "onnxruntime")

#: (backbone, pretrained, input size): the face-trained network of the
#: ``general`` preset (224 px, its own size) and two ImageNet networks (timm's
#: default and the shipped Lite0) at 224 px and at the crops' 128 px.
BACKBONES = (
    ("hse_faceres", True, None),
    ("tf_efficientnet_lite0", True, 224),
    ("efficientnet_b0", False, 224),
    ("efficientnet_b0", False, None),
)
BATCH_SIZES = (64, 32, 16, 8, 4, "auto")


def _interleaved_medians(fns: list, repeat: int) -> list[float]:
    """Median seconds of each of ``fns``, run in turn ``repeat`` times.

    Taking turns spreads the machine's drift (other processes, clock
    changes) over every candidate instead of the ones that ran last.
    """
    for fn in fns:
        fn()  # warm-up: first-call allocations, lazy imports
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, acc in zip(fns, times):
            t = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t)
    return [statistics.median(acc) for acc in times]


def _timed_transforms(runs: list, tracks: list, repeat: int) -> list[dict]:
    """Time fitted transformers on ``tracks``, taking turns; one dict each.

    Seconds (median), crops/s, and against the first run: the largest
    absolute difference of the output and the speed-up.
    """
    n_crops = sum(len(t) for t in tracks)
    outs = [r.transform(tracks) for r in runs]
    secs = _interleaved_medians([lambda r=r: r.transform(tracks) for r in runs], repeat)
    return [
        {
            "seconds": sec,
            "crops_per_s": n_crops / sec,
            "max_abs_diff_vs_64": max(
                float(np.abs(a - b).max()) for a, b in zip(out, outs[0])
            ),
            "speedup_vs_64": secs[0] / sec,
        }
        for out, sec in zip(outs, secs)
    ]


def extractor_rows(tracks: list, repeat: int) -> list[dict]:
    """Seconds and crops/s of each backbone at each batch size."""
    from sklearn_deepfake.features import CNNFeatureExtractor
    from sklearn_deepfake.utils._device import auto_batch_size

    rows = []
    for k, (backbone, pretrained, size) in enumerate(BACKBONES):
        exts = [
            CNNFeatureExtractor(
                backbone,
                pretrained=pretrained,
                input_size=size,
                batch_size=bs,
                device="cpu",
            ).fit()
            for bs in BATCH_SIZES
        ]
        timed = _timed_transforms(exts, tracks, repeat)
        for bs, ext, t in zip(BATCH_SIZES, exts, timed):
            side = ext.input_size_ or int(tracks[0].crops.shape[1])
            rows.append(
                {
                    "config": k,
                    "backbone": backbone,
                    "input_size": side,
                    "batch_size": bs,
                    "auto_resolves_to": auto_batch_size(bs, ext.device_, side),
                    **t,
                }
            )
            print(rows[-1], flush=True)
    return rows


def end_to_end(paths: list[str], repeat: int) -> list[dict]:
    """The shipped ``general`` model's predict_proba, FaceRes at 64 and "auto".

    And at "auto" on onnxruntime (``load_pretrained(runtime="onnxruntime")``,
    its one-off export done in the warm-up).
    """
    from sklearn_deepfake.pretrained import load_pretrained

    settings = ((64, "torch"), ("auto", "torch"), ("auto", "onnxruntime"))
    models = [load_pretrained("general", runtime=rt) for _, rt in settings]
    for model, (bs, _) in zip(models, settings):
        features = model.named_steps["features"]
        # the FaceRes extractor alone, or one part of a union of features
        faceres = dict(getattr(features, "transformers_", [("faceres", features)]))
        faceres["faceres"].set_params(batch_size=bs)
    probas = [m.predict_proba(paths)[:, 1] for m in models]
    secs = _interleaved_medians(
        [lambda m=m: m.predict_proba(paths) for m in models], repeat
    )
    return [
        {
            "faceres_batch_size": bs,
            "runtime": rt,
            "seconds_per_video": sec / len(paths),
            "max_abs_p_fake_diff_vs_64": float(np.abs(p - probas[0]).max()),
            "speedup_vs_64": secs[0] / sec,
        }
        for (bs, rt), p, sec in zip(settings, probas, secs)
    ]


#: Fine-tuned networks scored on the CPU: (backbone, pretrained, input size).
#: The face-trained FaceRes and the shipped Lite0 at the 128-px crops the
#: benchmark's ``ft-*`` rows train on, and at 224 px Lite0, a ResNet and
#: ``FaceCNNClassifier``'s default SE-ResNeXt50 (dense convolutions).
NETS = (
    ("hse_faceres", True, 128),
    ("tf_efficientnet_lite0", True, 128),
    ("tf_efficientnet_lite0", True, 224),
    ("resnet18", False, 224),
    ("seresnext50_32x4d", False, 224),
)
#: Scoring settings: (crops a pass, channels-last weights and input).
NET_SETTINGS = ((32, False), ("auto", False), (32, True), ("auto", True))


def _scoring_variant(clf, batch_size, channels_last: bool):
    """A copy of fitted ``clf`` that scores as told (the weights unchanged)."""
    import copy

    import torch

    out = copy.deepcopy(clf)
    out.set_params(predict_batch_size=batch_size)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    out.net_.module_.to(memory_format=fmt)
    out.net_.module_.channels_last = channels_last
    return out


def net_rows(tracks: list, repeat: int) -> list[dict]:
    """``FaceCNNClassifier.predict_proba`` on the CPU under each setting.

    Each network is fitted for one short epoch (real crops and self-blended
    copies) so that its weights are a trained network's; the timing is of
    scoring only.
    """
    from sklearn_deepfake.nets import FaceCNNClassifier
    from sklearn_deepfake.utils._device import auto_batch_size

    n_crops = sum(len(t) for t in tracks)
    rows = []
    for k, (backbone, pretrained, size) in enumerate(NETS):
        clf = FaceCNNClassifier(
            backbone,
            pretrained=pretrained,
            input_size=size,
            self_blend=True,
            max_epochs=1,
            frames_per_video=2,
            valid_size=None,
            device="cpu",
            random_state=0,
        ).fit(tracks, np.zeros(len(tracks), dtype=int))
        variants = [_scoring_variant(clf, bs, cl) for bs, cl in NET_SETTINGS]
        outs = [v.predict_proba(tracks)[:, 1] for v in variants]
        secs = _interleaved_medians(
            [lambda v=v: v.predict_proba(tracks) for v in variants], repeat
        )
        for (bs, cl), out, sec in zip(NET_SETTINGS, outs, secs):
            rows.append(
                {
                    "config": k,
                    "backbone": backbone,
                    "input_size": size,
                    "batch_size": bs,
                    "auto_resolves_to": auto_batch_size(bs, clf.device_, size),
                    "channels_last": cl,
                    "seconds": sec,
                    "crops_per_s": n_crops / sec,
                    "max_abs_p_fake_diff_vs_first": float(np.abs(out - outs[0]).max()),
                    "speedup_vs_first": secs[0] / sec,
                }
            )
            print(rows[-1], flush=True)
    return rows


def onnx_rows(tracks: list, repeat: int) -> list[dict]:
    """``ONNXFeatureExtractor.transform`` (CPU provider) at each batch size."""
    import tempfile

    from sklearn_deepfake.export import ONNXFeatureExtractor, export_onnx
    from sklearn_deepfake.features import CNNFeatureExtractor

    side = int(tracks[0].crops.shape[1])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (backbone, pretrained, size) in enumerate(ONNX_BACKBONES):
            ext = CNNFeatureExtractor(
                backbone, pretrained=pretrained, input_size=size, device="cpu"
            ).fit()
            path = export_onnx(ext, os.path.join(tmp, f"{k}.onnx"), size=side)
            # the exported graph at each batch size, then torch (the extractor
            # itself, batch_size="auto") for reference, all taking turns
            runs = [
                ONNXFeatureExtractor(path, batch_size=bs).fit()
                for bs in ONNX_BATCH_SIZES
            ] + [ext]
            timed = _timed_transforms(runs, tracks, repeat)
            for bs, t in zip((*ONNX_BATCH_SIZES, "auto"), timed):
                rows.append(
                    {
                        "config": k,
                        "runtime": "torch" if bs == "auto" else "onnxruntime",
                        "backbone": backbone,
                        "input_size": ext.input_size_ or side,
                        "batch_size": bs,
                        **t,
                    }
                )
                print(rows[-1], flush=True)
    # dlib's descriptor network of the general-blend model's identity features
    # (three 150-px chips a face), on torch and on onnxruntime, taking turns
    from sklearn_deepfake.features import FaceRecognitionEmbeddings

    parts = ("face", "inner", "outer")
    runs = [FaceRecognitionEmbeddings(parts, runtime=rt).fit(tracks) for rt in RUNTIMES]
    for rt, t in zip(RUNTIMES, _timed_transforms(runs, tracks, repeat)):
        rows.append(
            {
                "config": len(ONNX_BACKBONES),
                "runtime": rt,
                "backbone": "dlib_resnet (FaceRecognitionEmbeddings, 3 parts)",
                "input_size": 150,
                "batch_size": 64,
                **t,
            }
        )
        print(rows[-1], flush=True)
    return rows


def _bs(r: dict) -> str:
    if r["batch_size"] == "auto":
        return f"auto ({r['auto_resolves_to']})"
    return str(r["batch_size"])


def _markdown(
    ext_rows: list[dict],
    e2e: list[dict],
    nets: list[dict],
    inputs: dict,
    onnx: list[dict] = (),
) -> str:
    lines = [
        f"CNNFeatureExtractor.transform on the CPU ({inputs['n_crops']} face crops "
        f"of {len(inputs['clips'])} clips, {inputs['torch_threads']} torch threads; "
        "median of the runs):",
        "",
        "| backbone | input px | batch size | crops/s | speed-up vs 64 "
        "| max abs diff vs 64 |",
        "|---|---|---|---|---|---|",
    ]
    for r in ext_rows:
        lines.append(
            f"| {r['backbone']} | {r['input_size']} | {_bs(r)} | "
            f"{r['crops_per_s']:.1f} | "
            f"{r['speedup_vs_64']:.2f} | {r['max_abs_diff_vs_64']:.1e} |"
        )
    lines += [
        "",
        "The shipped `general` model end to end (`predict_proba` at its own "
        "frame count: decode, faces, features, classifier):",
        "",
        "| FaceRes batch size | runtime | s / video | speed-up vs 64 "
        "| max abs P(FAKE) diff |",
        "|---|---|---|---|---|",
    ]
    for r in e2e:
        lines.append(
            f"| {r['faceres_batch_size']} | {r.get('runtime', 'torch')} | "
            f"{r['seconds_per_video']:.2f} | "
            f"{r['speedup_vs_64']:.2f} | "
            f"{r['max_abs_p_fake_diff_vs_64']:.1e} |"
        )
    if nets:
        lines += [
            "",
            "FaceCNNClassifier.predict_proba on the CPU (the same crops; each "
            "network fitted for one short epoch):",
            "",
            "| backbone | input px | crops a pass | channels-last | crops/s "
            "| speed-up vs 32, not channels-last | max abs P(FAKE) diff |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in nets:
            lines.append(
                f"| {r['backbone']} | {r['input_size']} | {_bs(r)} | "
                f"{'yes' if r['channels_last'] else 'no'} | "
                f"{r['crops_per_s']:.1f} | {r['speedup_vs_first']:.2f} | "
                f"{r['max_abs_p_fake_diff_vs_first']:.1e} |"
            )
    if onnx:
        lines += [
            "",
            "ONNXFeatureExtractor.transform on onnxruntime's CPU provider (the "
            "same crops; the extractor exported for them, resizing inside the "
            "graph), and the torch extractor it was exported from at "
            '`batch_size="auto"`, taking turns; last, dlib\'s descriptor network '
            "of the identity features (3 chips a face) on torch, then on "
            "onnxruntime (its speed-up and difference against torch):",
            "",
            "| backbone | input px | runtime | crops a run | crops/s "
            "| speed-up vs ONNX at 64 | max abs diff vs ONNX at 64 |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in onnx:
            lines.append(
                f"| {r['backbone']} | {r['input_size']} | {r['runtime']} | "
                f"{r['batch_size']} | "
                f"{r['crops_per_s']:.1f} | {r['speedup_vs_64']:.2f} | "
                f"{r['max_abs_diff_vs_64']:.1e} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4, help="real-only clips")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", default=str(shared_data_dir()))
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="what to time; the other parts are kept from the results file",
    )
    args = parser.parse_args(argv)

    import torch

    from sklearn_deepfake import make_default_pipeline

    warnings.simplefilter("ignore")
    paths = sorted(str(p) for p in (Path(args.data) / "real-only").glob("*.mp4"))
    paths = paths[:: max(1, len(paths) // args.clips)][: args.clips]
    # 32 frames a clip: the general-blend preset's sampler and face step
    front = make_default_pipeline(preset="general-blend", device="cpu")[:2]
    front.named_steps["facecropper"].fit(None)
    tracks = front.transform(paths)
    inputs = {
        "clips": [os.path.basename(p) for p in paths],
        "n_crops": int(sum(len(t) for t in tracks)),
        "crop_size": int(tracks[0].crops.shape[1]),
        "torch_threads": torch.get_num_threads(),
        "repeat": args.repeat,
        "load_avg_1min_at_start": os.getloadavg()[0],
    }
    old = RESULTS / "bench_batch_size.json"
    outputs = json.loads(old.read_text())["outputs"] if old.exists() else {}
    runs = {
        "extractors": ("extractor", lambda: extractor_rows(tracks, args.repeat)),
        "end-to-end": ("end_to_end", lambda: end_to_end(paths, args.repeat)),
        "nets": ("nets", lambda: net_rows(tracks, args.repeat)),
        "onnx": ("onnx", lambda: onnx_rows(tracks, args.repeat)),
    }
    for part in args.parts:
        key, run = runs[part]
        outputs[key] = run()
    inputs["parts_run"] = list(args.parts)
    write_results(
        "bench_batch_size",
        inputs=inputs,
        outputs=outputs,
        markdown=_markdown(
            outputs.get("extractor", []),
            outputs.get("end_to_end", []),
            outputs.get("nets", []),
            inputs,
            outputs.get("onnx", []),
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
