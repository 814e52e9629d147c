"""Does fine-tuning a face-trained backbone learn? Self-blending on real faces.

A ``FaceCNNClassifier`` is trained the way the ``ft-*-sbi`` rows of
``bench_cross_method.py`` train it (128-px face crops of real videos and
self-blended copies of them, the shipped weights, nothing tuned) on the real
videos of ``../shared/data`` but a quarter of the identity groups, which are
held out. Per backbone it reports:

- the training loss of each epoch (0.693 is a constant 0.5);
- the held-out AUC and log loss of telling each held-out real video from a
  self-blended copy of it (one copy per video, seed 0): whether the network
  learned the task it was trained on, before any question of transfer;
- the share of the pooled features (the classifier's input) that are
  non-zero on the held-out real crops, before and after training, and the
  largest mean relative change of a convolution's weights.

``--before`` adds, per face-trained backbone, the rows of how they were
fine-tuned before (see :func:`variant`): with a plain linear head, and with
that and the ported networks' scales. Each setting runs with every seed of
``--seeds`` (the head's initialisation, the crops drawn, the blends).

Writes ``benchmarks/results/bench_face_finetune.json`` and ``.md``::

    PYTHONPATH=. python benchmarks/bench_face_finetune.py --before  # 10 min
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _cross_method_data import dataset, face_tracks  # noqa: E402
from _results import write_results  # noqa: E402

BACKBONES = ("tf_efficientnet_lite0", "hse_faceres", "dlib_resnet")
FACE = ("hse_faceres", "dlib_resnet")
EPS = 0.01


@contextlib.contextmanager
def variant(name: str):
    """Build the face backbones as they were before a fix.

    ``"linear-head"``: a plain linear classifier on the features (FaceRes
    pooled after its last ReLU6), the folded scales; ``"shipped-scale"``:
    that, and the ported networks' parametrisation too (FaceRes's stem for
    0-255 input, dlib's convolutions unbalanced); ``"now"``: the library.
    """
    import torch

    import sklearn_deepfake.features._face_backbones as fb

    saved = (
        fb._balance_conv_scale,
        fb._FaceResBody.__init__,
        fb.FaceBackbone.__init__,
        dict(fb._SPECS),
    )
    faceres_init, backbone_init = saved[1], saved[2]

    def linear_head(self, name, pretrained=False, num_classes=0):
        backbone_init(self, name, pretrained, num_classes)
        if num_classes and not self.head_pretrained:
            self.classifier = torch.nn.Linear(self.num_features, num_classes)
            self.body.preact = False

    def faceres_0_255(self, pretrained, shared):
        faceres_init(self, pretrained, shared)
        with torch.no_grad():
            self.net.stem.conv.weight.div_(255.0)

    if name in ("linear-head", "shipped-scale"):
        fb.FaceBackbone.__init__ = linear_head
    if name == "shipped-scale":
        fb._balance_conv_scale = lambda block: None
        fb._FaceResBody.__init__ = faceres_0_255
        factory, dims, mean, _, size = fb._SPECS["hse_faceres"]
        fb._SPECS["hse_faceres"] = (factory, dims, mean, (1 / 255.0,) * 3, size)
    try:
        yield
    finally:
        fb._balance_conv_scale, fb._FaceResBody.__init__ = saved[:2]
        fb.FaceBackbone.__init__ = saved[2]
        fb._SPECS.clear()
        fb._SPECS.update(saved[3])


def _pooled_features(module, tracks) -> np.ndarray:
    """The classifier's input on every crop of ``tracks``."""
    import torch

    x = torch.from_numpy(np.concatenate([t.crops for t in tracks if len(t)]))
    seen = {}
    head = module.backbone.get_classifier()
    hook = head.register_forward_hook(lambda m, i, o: seen.setdefault("f", i[0]))
    module.eval()
    with torch.no_grad():
        module(x.permute(0, 3, 1, 2))
    hook.remove()
    return seen["f"].numpy()


def run(backbone, train, held, blended, epochs, frames, name, seed=0) -> dict:
    """Fine-tune ``backbone`` on ``train``; its figures on the held-out sets."""
    from sklearn.metrics import log_loss, roc_auc_score

    from sklearn_deepfake.features._cnn import build_backbone
    from sklearn_deepfake.nets import FaceCNNClassifier

    clf = FaceCNNClassifier(
        backbone,
        pretrained=True,
        input_size=128,
        self_blend=True,
        valid_size=None,
        max_epochs=epochs,
        frames_per_video=frames,
        eps=EPS,
        device="cpu",
        random_state=seed,
    )
    with variant(name):
        t = time.time()
        clf.fit(train, np.zeros(len(train), dtype=int))
        seconds = time.time() - t
        after = clf.net_.module_
        start = copy.deepcopy(after)  # the trained wrapper, the shipped backbone
        start.backbone = build_backbone(
            backbone, pretrained=True, weights=None, random_state=0, num_classes=1
        )
    f0, f1 = _pooled_features(start, held), _pooled_features(after, held)
    change = max(
        float((p1.detach() - p0.detach()).abs().mean() / p0.detach().abs().mean())
        for (n, p0), (_, p1) in zip(
            start.backbone.named_parameters(), after.backbone.named_parameters()
        )
        if p0.ndim == 4
    )
    p = np.concatenate(
        [clf.predict_proba(held)[:, 1], clf.predict_proba(blended)[:, 1]]
    )
    y = np.r_[np.zeros(len(held)), np.ones(len(blended))]
    return {
        "backbone": backbone,
        "variant": name,
        "seed": seed,
        "train_loss": [float(h["train_loss"]) for h in clf.net_.history],
        "heldout_sbi_auc": float(roc_auc_score(y, p)),
        "heldout_sbi_log_loss": float(log_loss(y, p)),
        "p_fake_spread": float(np.std(p)),
        "features_nonzero_before": float((f0 != 0).mean()),
        "features_nonzero_after": float((f1 != 0).mean()),
        "max_conv_relative_change": change,
        "fit_seconds": seconds,
    }


def _markdown(rows: list[dict], inputs: dict) -> str:
    lines = [
        f"FaceCNNClassifier fine-tuned on {inputs['n_train']} real videos and "
        f"self-blended copies ({inputs['epochs']} epochs, "
        f"{inputs['frames_per_video']} crops a video an epoch, 128 px, CPU); "
        f"held out: {inputs['n_held']} real videos of other identities and one "
        "self-blended copy of each.",
        "",
        "| backbone | variant | seed | training loss by epoch | held-out "
        "SBI AUC | log loss | features non-zero before -> after "
        "| largest conv change |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        losses = ", ".join(f"{v:.3f}" for v in r["train_loss"])
        lines.append(
            f"| {r['backbone']} | {r['variant']} | {r['seed']} | {losses} | "
            f"{r['heldout_sbi_auc']:.2f} | {r['heldout_sbi_log_loss']:.3f} | "
            f"{r['features_nonzero_before']:.3f} -> "
            f"{r['features_nonzero_after']:.3f} | "
            f"{100 * r['max_conv_relative_change']:.1f} % |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--frames-per-video", type=int, default=4)
    parser.add_argument("--n-frames", type=int, default=8)
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES))
    parser.add_argument("--before", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args(argv)

    from sklearn_deepfake.nets import make_self_blended

    warnings.simplefilter("ignore")
    rows = [r for r in dataset() if r[1] == 0]
    groups = sorted({r[3] for r in rows})
    held_groups = set(groups[::4])
    tracks = face_tracks(rows, args.n_frames)
    keep = [k for k, t in enumerate(tracks) if len(t)]
    train = [tracks[k] for k in keep if rows[k][3] not in held_groups]
    held = [tracks[k] for k in keep if rows[k][3] in held_groups]
    blended, _, _ = make_self_blended(held, include_original=False, random_state=0)
    inputs = {
        "n_train": len(train),
        "n_held": len(held),
        "n_held_blended": len(blended),
        "n_held_groups": len(held_groups),
        "epochs": args.epochs,
        "frames_per_video": args.frames_per_video,
        "n_frames": args.n_frames,
    }
    out = []
    for backbone in args.backbones:
        variants = ["now"]
        if args.before and backbone in FACE:
            variants += ["linear-head", "shipped-scale"]
        for name in variants:
            for seed in args.seeds:
                out.append(
                    run(
                        backbone,
                        train,
                        held,
                        blended,
                        args.epochs,
                        args.frames_per_video,
                        name,
                        seed,
                    )
                )
                print(out[-1], flush=True)
    write_results(
        "bench_face_finetune",
        inputs=inputs,
        outputs={"rows": out},
        markdown=_markdown(out, inputs),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
