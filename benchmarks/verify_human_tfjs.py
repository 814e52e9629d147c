"""Check the torch ports of human's FaceRes and anti-spoofing CNN against TFJS.

Runs the original graph models (``models/faceres.json``,
``models/antispoof.json`` of ``@vladmandic/human@3.3.6``) with the
pure-JavaScript CPU backend of ``@tensorflow/tfjs`` in node
(``benchmarks/human_tfjs_run.js``) and the torch modules of
``sklearn_deepfake.features._faceres`` on the same float32 inputs, and
compares every output:

- real face crops: ``FrameSampler(n_frames)`` -> ``FaceCropper(size=224)``
  on a few videos of ``../shared/data`` (DeepFaceLive pairs and
  FaceForensics++ clips); FaceRes gets the crops in ``[0, 255]``, the
  anti-spoofing CNN the crops resized to 128 px in ``[0, 1]``;
- scikit-image's astronaut photograph (a fixed 256 px box around the face;
  its central 224 px for FaceRes, 2 x 2 block means for the anti-spoofing
  CNN): the TFJS outputs are written to ``tests/data/human_reference.json``,
  which the test-suite compares with the torch modules (no node needed).

Setup (npm registry only; tfjs 4 is pure JavaScript, nothing native)::

    cd /tmp && npm pack @vladmandic/human@3.3.6 && tar xzf vladmandic-human-3.3.6.tgz
    mkdir -p /tmp/tfjs && cd /tmp/tfjs && npm init -y && npm install @tensorflow/tfjs@4
    python benchmarks/verify_human_tfjs.py --human /tmp/package \
        --node-modules /tmp/tfjs/node_modules [--store /work/cache/skdf_store]

Writes benchmarks/results/verify_human_tfjs.json and the test fixture.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _results import shared_data_dir, write_results  # noqa: E402

SHARED = shared_data_dir()
FIXTURE = REPO / "tests" / "data" / "human_reference.json"
VIDEOS = (
    "dfl-pairs/train_sample_videos",
    "ffpp-c23/original_sequences/youtube/c23/videos",
    "ffpp-c23/manipulated_sequences/Deepfakes/c23/videos",
    "ffpp-c23/manipulated_sequences/FaceSwap/c23/videos",
)
FACERES_OUTPUTS = ("global_pooling/Mean", "gender_pred/Sigmoid", "age_pred/Softmax")


ASTRONAUT = (
    "box = skimage.data.astronaut()[20:276, 120:376] as float32; FaceRes: "
    "box[16:240, 16:240] (0-255); antispoof: 2 x 2 block means of box / 255"
)


def astronaut_inputs() -> tuple[np.ndarray, np.ndarray]:
    """FaceRes (1, 224, 224, 3) in [0, 255] and antispoof (1, 128, 128, 3) in [0, 1]."""
    from skimage import data

    box = data.astronaut()[20:276, 120:376].astype(np.float32)
    faceres = box[16:240, 16:240][None]
    antispoof = box.reshape(128, 2, 128, 2, 3).mean(axis=(1, 3))[None] / 255.0
    return np.ascontiguousarray(faceres), np.ascontiguousarray(antispoof)


def _video_crops(n_videos: int, n_frames: int, store: Path | None) -> np.ndarray:
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    paths = []
    for folder in VIDEOS:
        files = sorted((SHARED / folder).glob("*.mp4"))
        paths += [os.fspath(p) for p in files[: max(1, n_videos // len(VIDEOS))]]
    plans = FrameSampler(n_frames=n_frames).fit(paths).transform(paths)
    cropper = FaceCropper(size=224, device="cpu", cache_dir=store).fit(None)
    crops = [np.asarray(t.crops) for t in cropper.transform(plans)]
    crops = [c for c in crops if len(c)]
    return np.concatenate(crops), paths


def _resize(crops: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def _tfjs(model_json: Path, x: np.ndarray, outputs, node_modules: Path, tmp: Path):
    """Outputs of the TFJS graph model on NHWC ``x``, one array per output."""
    x = np.ascontiguousarray(x, dtype="<f4")
    x.tofile(tmp / "input.bin")
    env = dict(os.environ, NODE_PATH=os.fspath(node_modules))
    subprocess.run(
        [
            "node",
            os.fspath(REPO / "benchmarks" / "human_tfjs_run.js"),
            os.fspath(model_json),
            os.fspath(tmp / "input.bin"),
            ",".join(map(str, x.shape)),
            os.fspath(tmp / "out"),
            *outputs,
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    return [
        np.fromfile(tmp / f"out.{k}.bin", "<f4").reshape(len(x), -1)
        for k in range(len(outputs))
    ]


def _torch(faceres_x: np.ndarray, antispoof_x: np.ndarray):
    import torch

    from sklearn_deepfake.features._faceres import AntispoofNet, FaceResNet

    faceres = FaceResNet(pretrained=True).eval()
    antispoof = AntispoofNet(pretrained=True).eval()
    with torch.no_grad():
        desc = faceres(torch.from_numpy(faceres_x).permute(0, 3, 1, 2))
        _, male, age = faceres.heads(desc)
        real = torch.sigmoid(
            antispoof(torch.from_numpy(antispoof_x).permute(0, 3, 1, 2))
        )
    return desc.numpy(), male.numpy()[:, None], age.numpy(), real.numpy()[:, None]


def _compare(ours: np.ndarray, ref: np.ndarray) -> dict:
    out = {
        "max_abs_diff": float(np.abs(ours - ref).max()),
        "max_abs_value": float(np.abs(ref).max()),
    }
    if ref.shape[1] > 1:  # a cosine means something for vectors only
        cos = (ours * ref).sum(1) / (
            np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1)
        )
        out["min_cosine"] = float(cos.min())
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--human", type=Path, required=True, help="untarred package")
    parser.add_argument("--node-modules", type=Path, required=True)
    parser.add_argument("--n-videos", type=int, default=4)
    parser.add_argument("--n-frames", type=int, default=2)
    parser.add_argument("--store", type=Path, default=None, help="FaceStore folder")
    args = parser.parse_args()

    from sklearn_deepfake.features import _faceres

    models = args.human / "models"
    crops, paths = _video_crops(args.n_videos, args.n_frames, args.store)
    inputs = {
        "astronaut": astronaut_inputs(),
        "video crops": (crops.astype(np.float32), _resize(crops, 128)),
    }
    outputs, fixture = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, (fx, ax) in inputs.items():
            ref = _tfjs(
                models / "faceres.json", fx, FACERES_OUTPUTS, args.node_modules, tmp
            )
            ref += _tfjs(
                models / "antispoof.json", ax, ("Identity",), args.node_modules, tmp
            )
            ours = _torch(fx, ax)
            outputs[name] = {
                "n_images": len(fx),
                **{
                    label: _compare(o, r)
                    for label, o, r in zip(
                        ("descriptor", "p_male", "age", "antispoof_p_real"), ours, ref
                    )
                },
            }
            if name == "astronaut":
                fixture = {
                    "input": ASTRONAUT,
                    "descriptor_first16": ref[0][0, :16].tolist(),
                    "descriptor_norm": float(np.linalg.norm(ref[0][0])),
                    "p_male": float(ref[1][0, 0]),
                    "age_argmax": int(ref[2][0].argmax()),
                    "antispoof_p_real": float(ref[3][0, 0]),
                }
    fixture["sha256"] = {
        p.name: _sha256(p)
        for p in (_faceres.faceres_weights_path(), _faceres.antispoof_weights_path())
    }
    fixture["source"] = "@vladmandic/human@3.3.6 run by @tensorflow/tfjs (CPU)"
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    tmp_fixture = FIXTURE.with_name(FIXTURE.name + ".part")
    tmp_fixture.write_text(json.dumps(fixture, indent=1) + "\n")
    os.replace(tmp_fixture, FIXTURE)
    tfjs_version = json.loads(
        (args.node_modules / "@tensorflow" / "tfjs" / "package.json").read_text()
    )["version"]
    print(json.dumps(outputs, indent=1))
    write_results(
        "verify_human_tfjs",
        inputs={
            "videos": [Path(p).relative_to(SHARED).as_posix() for p in paths],
            "n_frames": args.n_frames,
            "crop": "FrameSampler(n_frames) -> FaceCropper(size=224, device='cpu'); "
            "antispoof input: bilinear antialiased resize to 128, / 255",
            "tfjs": f"@tensorflow/tfjs {tfjs_version} (pure-JS CPU backend, node)",
            "human": "@vladmandic/human@3.3.6",
        },
        outputs=outputs,
    )


if __name__ == "__main__":
    main()
