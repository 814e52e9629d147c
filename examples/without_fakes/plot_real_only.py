"""
==================================================
Train a detector from a folder of real videos only
==================================================

Self-blended images (Shiohara and Yamasaki, CVPR 2022) turn real faces into
training fakes: a slightly altered copy of a face is blended back onto itself
through a soft face mask, leaving the seams and colour mismatches that face
swaps leave. :class:`~sklearn_deepfake.nets.FaceCNNClassifier` does this on
the fly with ``self_blend=True``, so it trains on a folder of real videos with
no fake at all. ``make_default_pipeline(preset="self-blended")`` is that
recipe in one call.

This example writes a small folder of real synthetic face videos with
:func:`~sklearn_deepfake.datasets.make_face_videos`, trains on it, and scores
a second folder of unknown videos (half of them manipulated). The CNN is a
small randomly initialised ResNet-18 at 64 px trained for a few epochs on
CPU, so the scores show the mechanics, not the quality a pretrained backbone
(``classifier__pretrained=True``) reaches. Give a folder of real videos and a
folder of videos to score as the two command-line arguments to run it on
your own data.
"""

# %%
# Real videos only
# ----------------
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from sklearn_deepfake import make_default_pipeline
from sklearn_deepfake.datasets import load_video_folder, make_face_videos

if len(sys.argv) > 2:
    real_dir = sys.argv[1]
    unknown_paths = sorted(str(p) for p in Path(sys.argv[2]).rglob("*.mp4"))
    labels = None
else:
    root = Path(tempfile.mkdtemp(prefix="real_only_"))
    real_dir, unknown_dir = root / "real", root / "unknown"
    make_face_videos(8, n_frames=16, directory=real_dir, random_state=0)
    unknown = make_face_videos(
        6,
        n_frames=16,
        manipulated=0.5,
        directory=unknown_dir,
        random_state=1,
    )
    unknown_paths, labels = [str(p) for p in unknown.paths], unknown.target
real = load_video_folder(real_dir, label="REAL")
print(f"{len(real.paths)} real training videos, no fake")

# %%
# The self-blended preset
# -----------------------
# Steps: frame sampling, MTCNN face crops (cached) and a CNN that sees each
# real crop and a self-blended pseudo-fake of it.
model = make_default_pipeline(
    preset="self-blended",
    backbone="resnet18",
    n_frames=8,
    size=64,
    device="cpu",
    cache_dir=Path(tempfile.gettempdir()) / "real_only_faces",
)
model.set_params(classifier__max_epochs=4, classifier__random_state=0)
print(list(model.named_steps))

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # random initialisation, tiny data
    # The groups reach the network's early-stopping split (videos of one
    # source, or one person's sub-folder, stay on one side of it).
    model.fit(
        real.paths,
        np.zeros(len(real.paths), dtype=int),
        classifier__groups=real.groups,
    )

# %%
# Score the unknown videos
# ------------------------
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    proba = model.predict_proba(unknown_paths)[:, 1]
for path, p in zip(unknown_paths, proba):
    print(f"{Path(path).name}: P(fake) = {p:.3f}")
if labels is not None:
    from sklearn.metrics import log_loss, roc_auc_score

    print(
        f"log loss {log_loss(labels, proba, labels=[0, 1]):.3f}, "
        f"AUC {roc_auc_score(labels, proba):.2f} (0.5 scores 0.693 / 0.50)"
    )
