"""
======================================
From video files to face tracks
======================================

The first two steps of every sklearn-deepfake pipeline turn video paths into
face crops. :class:`~sklearn_deepfake.video.FrameSampler` decides which
frames to read, without decoding anything, and
:class:`~sklearn_deepfake.faces.FaceCropper` decodes those frames once, finds
the faces with MTCNN and returns one
:class:`~sklearn_deepfake.utils.FaceTracks` record per video.

This example runs offline on CPU, on small synthetic videos in which real
face photographs move over a background.
"""

# %%
# Make a few synthetic videos
# ---------------------------
# :func:`~sklearn_deepfake.datasets.make_face_videos` writes small MP4 files
# and returns their paths, the true face boxes and labels. Half of them are
# manipulated twins of the others (same scene, altered inner face).
import tempfile

import numpy as np

from sklearn_deepfake.datasets import make_face_videos

directory = tempfile.mkdtemp(prefix="face_tracks_")
videos = make_face_videos(
    4, n_frames=24, manipulated=0.5, random_state=0, directory=directory
)
for path, label in zip(videos.paths, videos.target):
    print(path.rsplit("/", 1)[-1], "FAKE" if label else "REAL")

# %%
# Sample frames: frame plans, nothing decoded
# -------------------------------------------
# A frame plan records which frames of a video to read, with the video's size,
# frame rate and rotation. Making plans only probes the files.
from sklearn_deepfake.video import FrameSampler

plans = FrameSampler(n_frames=8).fit_transform(videos.paths)
print(plans[0])
print("frames to read:", plans[0].indices)

# %%
# Crop the faces
# --------------
# The cropper detects faces on downscaled frames every few frames, links the
# boxes into tracks and cuts square crops (with a margin of context) from the
# full-size frames. A video without a face would still get a record, with
# zero rows, so the list always has one element per video.
from sklearn_deepfake.faces import FaceCropper

tracks = FaceCropper(size=96, device="cpu").fit_transform(plans)
for record in tracks:
    print(
        f"{record.path.rsplit('/', 1)[-1]:<16} crops {record.crops.shape}, "
        f"face in {record.face_found.sum()}/{len(record.frame_indices)} frames, "
        f"mean confidence {record.probs.mean():.3f}"
    )

# %%
# How close are the boxes to the truth?
# -------------------------------------
# The synthetic videos know where each face is. Compare the centre of the
# detected box with the true one, in pixels, on the frames that were read.
record = tracks[0]
rows = record.track_ids == 0
frames = record.frame_indices[record.frame_pos[rows]]
detected = record.boxes[rows]
truth = videos.boxes[0][frames, 0]  # (n_frames, n_faces, 4): the only face
centre_error = np.hypot(
    (detected[:, 0] + detected[:, 2] - truth[:, 0] - truth[:, 2]) / 2,
    (detected[:, 1] + detected[:, 3] - truth[:, 1] - truth[:, 3]) / 2,
)
print(f"median centre error: {np.median(centre_error):.1f} px")

# %%
# Look at the crops
# -----------------
import matplotlib.pyplot as plt

fig, axes = plt.subplots(len(tracks), 4, figsize=(6, 1.6 * len(tracks)))
for row, record in zip(np.atleast_2d(axes), tracks):
    for ax, crop in zip(row, record.crops[:4]):
        ax.imshow(crop)
    for ax in row:
        ax.set_axis_off()
    row[0].set_title(record.path.rsplit("/", 1)[-1], fontsize=8, loc="left")
fig.tight_layout()
plt.show()
