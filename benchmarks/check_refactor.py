"""Check that a restructuring leaves the presets' predictions bit for bit alone.

Fits the ``default``, ``swap`` and ``self-blended`` presets (the last with a
small resnet18 for one epoch) with fixed seeds on 8 synthetic videos and on 6
real pairs of ``dfl-pairs`` (16 frames each), and saves every
``predict_proba`` to an ``.npz``. Run it on the old code and on the new, then
compare::

    PYTHONPATH=OLD python benchmarks/check_refactor.py run before.npz
    PYTHONPATH=NEW python benchmarks/check_refactor.py run after.npz
    python benchmarks/check_refactor.py compare before.npz after.npz

``compare`` exits with 1 unless every array is identical (``np.array_equal``).
Needs the ``landmarks`` extra for the swap preset and the shared clips
(``SKLEARN_DEEPFAKE_DATA``, default ``../shared/data``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("SKLEARN_DEEPFAKE_DATA", "../shared/data"))
PRESETS = (
    ("default", {}),
    ("swap", {}),
    ("self-blended", {"backbone": "resnet18", "size": 64}),
)


def _inputs() -> list[tuple[str, list[str], np.ndarray]]:
    import pandas as pd

    from sklearn_deepfake.datasets import make_face_videos

    synthetic = make_face_videos(
        8,
        n_frames=12,
        manipulated=0.5,
        directory=tempfile.mkdtemp(),
        random_state=0,
    )
    root = DATA / "dfl-pairs"
    clips = pd.read_csv(root / "clips.csv")
    train = clips[clips.split == "train"].sort_values("filename")
    originals = sorted(train.original.unique())[:6]
    chosen = train[train.original.isin(originals)].sort_values("filename")
    real = [str(root / "train_sample_videos" / f) for f in chosen.filename]
    return [
        ("syn", list(synthetic.paths), np.asarray(synthetic.target)),
        ("real", real, (chosen.label == "FAKE").to_numpy().astype(int)),
    ]


def run(out: str) -> None:
    """Fit every preset on every input and save the probabilities."""
    import torch

    from sklearn_deepfake import make_default_pipeline

    torch.set_num_threads(1)
    found = {}
    inputs = _inputs()
    for preset, options in PRESETS:
        for name, paths, y in inputs:
            pipe = make_default_pipeline(
                preset=preset, n_frames=16, device="cpu", **options
            )
            if preset == "self-blended":
                pipe.set_params(
                    classifier__max_epochs=1,
                    classifier__batch_size=16,
                    classifier__frames_per_video=4,
                    classifier__random_state=0,
                    classifier__valid_size=None,
                )
            torch.manual_seed(0)
            found[f"{preset}_{name}"] = pipe.fit(paths, y).predict_proba(paths)
            print(preset, name, np.round(found[f"{preset}_{name}"][:, 1], 4))
    np.savez(out, **found)


def compare(before: str, after: str) -> int:
    """Return 0 when both files hold the same arrays, bit for bit."""
    a, b = np.load(before), np.load(after)
    same = sorted(a.files) == sorted(b.files)
    for key in a.files:
        equal = key in b.files and np.array_equal(a[key], b[key])
        print(f"{key}: {'identical' if equal else 'DIFFERENT'}")
        same &= equal
    return 0 if same else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run").add_argument("out")
    check = commands.add_parser("compare")
    check.add_argument("before")
    check.add_argument("after")
    args = parser.parse_args()
    if args.command == "run":
        run(args.out)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
