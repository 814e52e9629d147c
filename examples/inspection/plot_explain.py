"""
===================================
Explain why a video was called fake
===================================

Three views of one prediction of a fine-tuned
:class:`~sklearn_deepfake.nets.FaceCNNClassifier`: the fake probability of
every sampled face along time
(:class:`~sklearn_deepfake.inspection.FrameScoreTimelineDisplay`), Grad-CAM
heatmaps of the regions that raised the score
(:class:`~sklearn_deepfake.inspection.GradCAMDisplay`, from the maintained
``grad-cam`` package), and the single-file HTML report that
``sklearn-deepfake explain MODEL VIDEO -o report.html`` writes
(:func:`~sklearn_deepfake.inspection.explain_video`).

The model is a small randomly initialised ResNet-18 trained for a few epochs
on synthetic videos (offline, CPU, under a minute), so its heatmaps show how
the tools work, not what a real detector looks at; with a model fitted on
your data (``classifier__pretrained=True`` for ImageNet weights) the same
calls explain real predictions.
"""

# %%
# A small detector from video paths
# ---------------------------------
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import Pipeline

from sklearn_deepfake.datasets import make_face_videos
from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.inspection import (
    FrameScoreTimelineDisplay,
    GradCAMDisplay,
    explain_video,
)
from sklearn_deepfake.nets import FaceCNNClassifier
from sklearn_deepfake.video import FrameSampler

root = Path(tempfile.mkdtemp(prefix="explain_"))
videos = make_face_videos(
    8, n_frames=12, manipulated=0.5, directory=root, random_state=0
)
model = Pipeline(
    [
        ("framesampler", FrameSampler(n_frames=8)),
        ("facecropper", FaceCropper(size=64, device="cpu")),
        (
            "classifier",
            FaceCNNClassifier(
                "resnet18",
                max_epochs=3,
                batch_size=16,
                valid_size=None,
                device="cpu",
                random_state=0,
            ),
        ),
    ]
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # random initialisation
    model.fit(list(videos.paths), videos.target)
fake = int(np.flatnonzero(videos.target == 1)[0])
video = str(videos.paths[fake])
print(f"{Path(video).name}: P(fake) = {model.predict_proba([video])[0, 1]:.3f}")

# %%
# Frame scores along time
# -----------------------
FrameScoreTimelineDisplay.from_estimator(model, [video])
plt.show()

# %%
# Grad-CAM heatmaps on the face crops
# -----------------------------------
GradCAMDisplay.from_estimator(model, [video], n_faces=4)
plt.show()

# %%
# The HTML report
# ---------------
# One file, images embedded, no scripts: open it in any browser or attach it
# to a ticket. ``sklearn-deepfake explain model.joblib video.mp4 -o
# report.html`` writes the same from a saved model.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    html = explain_video(model, video, root / "report.html", n_faces=4)
print(f"report.html: {len(html) / 1024:.0f} KiB, written to {root}")
