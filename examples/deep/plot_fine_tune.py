"""
==============================================
Fine-tuning a face CNN and a video CNN
==============================================

The weight-free default pipeline describes each face with a few hand-made
statistics. The learning models fine-tune a network on the face crops
themselves:

* :class:`~sklearn_deepfake.nets.FaceCNNClassifier` trains a 2-D ``timm``
  backbone on single face crops (each crop a sample with its video's label)
  and pools a video's crop scores into one probability;
* :class:`~sklearn_deepfake.nets.VideoCNNClassifier` trains a 3-D CNN on
  short clips of a face track, so that it can see flicker and other changes
  over time.

Both are scikit-learn classifiers whose ``X`` is the list of face tracks made
by :class:`~sklearn_deepfake.faces.FaceCropper`, so they go at the end of a
pipeline, into ``cross_val_score`` and into ``GridSearchCV`` as usual.

This example runs offline on CPU in a few minutes: the networks start from
random weights (no download) and are tiny (ResNet-18 on 64-pixel crops, an
R3D-18 on 4-frame clips of 32 pixels), so their scores mean nothing here.
On real data, start from pretrained weights (``pretrained=True``, or
``weights=PATH`` for a local file), use the full input size (224 for the
face CNN, 112 for the video CNN) and a GPU: ``device="auto"`` picks CUDA
when present, with mixed precision and channels-last memory.
"""

# %%
# Synthetic videos and their face tracks
# --------------------------------------
# ``clip_box="track"`` cuts each track with one box that covers the face over
# the whole clip (the face moves inside a still window): what the video CNN
# needs. The face CNN works with either.
import tempfile
import warnings

import numpy as np
import torch
from sklearn.pipeline import make_pipeline

from sklearn_deepfake.datasets import make_face_videos
from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.video import FrameSampler

torch.set_num_threads(2)
videos = make_face_videos(
    8,
    n_frames=16,
    manipulated=0.5,
    random_state=0,
    directory=tempfile.mkdtemp(prefix="fine_tune_"),
)
faces = make_pipeline(
    FrameSampler(n_frames=16),
    FaceCropper(size=64, clip_box="track", device="cpu"),
)
tracks = faces.fit_transform(videos.paths)
y = videos.target
# half of each class on each side
train = np.r_[np.flatnonzero(y == 0)[:2], np.flatnonzero(y == 1)[:2]]
test = np.setdiff1d(np.arange(len(y)), train)
X_train = [tracks[i] for i in train]
X_test = [tracks[i] for i in test]
print(f"{len(X_train)} training videos, {len(X_test)} test videos")
print("crops per video:", [len(t) for t in tracks])

# %%
# FaceCNNClassifier: a 2-D backbone on face crops
# -----------------------------------------------
# Any ``timm`` name works as ``backbone``. Training uses skorch (the fitted
# ``net_`` keeps its history), AdamW with a one-cycle schedule, crop
# augmentation and, with ``valid_size``, early stopping on held-out videos.
from sklearn_deepfake.nets import FaceCNNClassifier

face_cnn = FaceCNNClassifier(
    "resnet18",
    max_epochs=2,
    batch_size=16,
    frames_per_video=8,
    valid_size=None,
    device="cpu",
    random_state=0,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "random weights" warning
    face_cnn.fit(X_train, y[train])
print("training loss per epoch:", np.round(face_cnn.net_.history[:, "train_loss"], 3))
print("P(fake) of the test videos:", face_cnn.predict_proba(X_test)[:, 1].round(3))

# %%
# Where in the video does the model see a fake?
# ---------------------------------------------
# ``predict_frame_proba`` returns one score per face crop. The timeline puts
# them along the video, with some of the crops above the plot; the montage
# frames each crop with the colour of its score.
import matplotlib.pyplot as plt

from sklearn_deepfake.inspection import (
    FaceMontageDisplay,
    FrameScoreTimelineDisplay,
)

fig, (ax_time, ax_faces) = plt.subplots(
    1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 2]}
)
FrameScoreTimelineDisplay.from_estimator(face_cnn, X_test, video=0, ax=ax_time)
FaceMontageDisplay.from_estimator(face_cnn, X_test, video=0, max_faces=9, ax=ax_faces)
fig.tight_layout()

# %%
# VideoCNNClassifier: a 3-D CNN on face-track clips
# -------------------------------------------------
# Each track is cut into clips of ``clip_len`` sampled frames, resized to
# ``size``; a video's probability is the sigmoid of its clips' mean logit.
# ``"r3d_18"`` is torchvision's R3D-18 (see
# :func:`~sklearn_deepfake.nets.build_video_model` for the others).
from sklearn_deepfake.nets import VideoCNNClassifier

video_cnn = VideoCNNClassifier(
    "r3d_18",
    clip_len=4,
    stride=4,
    size=32,
    max_epochs=2,
    batch_size=4,
    valid_size=0.0,
    device="cpu",
    random_state=0,
)
video_cnn.fit(X_train, y[train])
print("training loss per epoch:", np.round(video_cnn.net_.history[:, "train_loss"], 3))
print("P(fake) of the test videos:", video_cnn.predict_proba(X_test)[:, 1].round(3))

# %%
# On a GPU
# --------
# The same code trains on CUDA with ``device="auto"`` (or ``"cuda"``); the
# settings that matter there are the real input sizes and larger batches,
# for example::
#
#     FaceCNNClassifier("efficientnet_b4", pretrained=True, input_size=224,
#                       batch_size=64, max_epochs=10)
#     VideoCNNClassifier("r3d_18", pretrained=True, clip_len=16, size=112,
#                        batch_size=16)
#
# and ``FaceCropper(size=224, cache_dir=...)`` so the faces are detected once.
plt.show()
