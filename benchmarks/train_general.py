"""Train the ``general`` preset on all of ../shared/data and ship it.

The recipe and its frame count are the ones ``bench_cross_method.py`` ranks
first over all of its results files (one per ``--n-frames`` it was run with:
:func:`bench_cross_method.rank_frame_counts`, the mean pooled log loss of
its two protocols, other methods and new identities, near-ties by AUC; the
constant prior excluded: a constant is not a detector); ``--n-frames``
restricts the choice to one file. The script stops
if that recipe is not one the JSON model format can ship (a pooled logistic
regression, a blend of them, or a frame-level logistic regression:
:data:`PRESET_OF`), and the
``make_default_pipeline(preset="general")`` values must match it (checked
here). Training data: every video of ``dfl-pairs`` (train and test),
``ffpp-c23`` and ``real-only`` (and, for a recipe trained with self-blends,
one self-blended copy of every real video; in a blend, only its
self-blended parts see them, through ``classifier__self_blended``). ``C``
(and the temperature of a ``*-temperature`` recipe; per part for a blend)
is the one the benchmark chose on all four families (its inner log losses
of both protocols).

Faces and per-frame features come from the same cache as the benchmark
(``_cross_method_data.py``). Two videos are also run end to end through the
rebuilt pipeline to check that the cached features equal what the pipeline
computes, and the saved model is reloaded and compared with the trained one.

    python benchmarks/train_general.py [--n-frames N]

Writes sklearn_deepfake/pretrained/general.json and
benchmarks/results/train_general.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import _cross_method_data as data  # noqa: E402
import bench_cross_method as bench  # noqa: E402
from _results import versions, write_results  # noqa: E402

OUT = REPO / "sklearn_deepfake" / "pretrained" / "general.json"
#: frame counts whose bench_cross_method results compete (where present)
RESULT_FRAME_COUNTS = (8, 32)
# benchmark recipe -> (features of make_default_pipeline, pooling)
PRESET_OF = {
    "swap-pooled": ("context+mtcnn+shape+noise", ("mean", "std")),
    "facerec": ("facerec", ("mean", "std")),
    "identity": ("identity", ("mean", "std")),
    "sbi-identity": ("identity", ("mean", "std")),
    "identity+sbi": ("identity", ("mean", "std")),
    "facerec+identity": ("facerec+identity", ("mean", "std")),
    "context+identity": ("context+identity", ("mean", "std")),
    "context-tuned": ("context", ("mean",)),
    "sbi-context": ("context", ("mean",)),
    "sbi-facerec": ("facerec", ("mean", "std")),
    "faceres": ("faceres", ("mean", "std")),
    "faceres-temperature": ("faceres", ("mean", "std")),
    "sbi-faceres": ("faceres", ("mean", "std")),
    "labels+sbi-faceres": ("faceres", ("mean", "std")),
    "faceres-temperature+sbi-identity": ("faceres+identity", ("mean", "std")),
    # a frame-level head: no pooling step
    "faceres-framewise": ("faceres", None),
}
#: part of a blend row -> part of the preset's LogitBlendClassifier
PART_OF = {"faceres-temperature": "faceres", "sbi-identity": "identity"}


def frame_features(name: str, v: dict, prefix: str = "") -> np.ndarray:
    """What the preset's ``features`` step outputs, from the cached arrays."""
    from sklearn_deepfake.features._face_recognition import identity_cues

    f = v[prefix + "facerec"]
    if name == "facerec":
        return f[:, :128]
    if name == "identity":
        return identity_cues(f)
    if name == "facerec+identity":
        return np.concatenate([f[:, :128], identity_cues(f)], axis=1)
    if name == "context+identity":
        return np.concatenate([v[prefix + "context"], identity_cues(f)], axis=1)
    if name == "context":
        return v[prefix + "context"]
    if name == "faceres":
        return v[prefix + "faceres"]
    if name == "faceres+identity":
        return np.concatenate([v[prefix + "faceres"], identity_cues(f)], axis=1)
    if name == "context+mtcnn+shape+noise":
        return v[prefix + "swap"]
    raise ValueError(name)


def train_mode_of(recipe) -> str:
    """How the recipe's head is trained: ``labels``, ``sbi``, ``labels+sbi``
    or, for a blend whose self-blended parts alone see the copies,
    ``labels+sbi-parts``."""
    if not recipe.blend:
        return recipe.train
    by_name = bench.RECIPE_BY_NAME
    sbi_parts = [n for n in recipe.blend if by_name[n].train != "labels"]
    if any(by_name[n].train != "sbi" for n in sbi_parts):
        raise SystemExit("a blend part trained on labels+sbi cannot ship yet")
    return "labels+sbi-parts" if sbi_parts else "labels"


def training_set(
    features: str, train_mode: str, rows: list[tuple], feats: list[dict]
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, dict]:
    """The preset's training samples from the cached arrays.

    Returns the per-video frame features, their targets, their groups (a
    self-blended copy keeps its real video's group) and the fit parameters
    (one value per sample).
    """
    y = np.array([r[1] for r in rows])
    groups = np.array([r[3] for r in rows])
    frames = [frame_features(features, v) for v in feats]
    fit_params = {}
    if train_mode == "labels":
        return frames, y, groups, fit_params
    real = np.flatnonzero(y == 0)
    sbi = [frame_features(features, feats[i], "sbi_") for i in real]
    if train_mode == "sbi":
        frames = [frames[i] for i in real] + sbi
        ytr = np.r_[np.zeros(len(real), int), np.ones(len(real), int)]
        return frames, ytr, np.r_[groups[real], groups[real]], fit_params
    frames = frames + sbi
    ytr = np.r_[y, np.ones(len(real), int)]
    if train_mode == "labels+sbi-parts":  # only the blend's sbi parts see them
        fit_params["classifier__self_blended"] = np.r_[
            np.zeros(len(y), bool), np.ones(len(real), bool)
        ]
    return frames, ytr, np.r_[groups, groups[real]], fit_params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--n-frames",
        type=int,
        default=None,
        help="choose among this frame count's results only (default: all)",
    )
    args = ap.parse_args()

    from sklearn_deepfake.pipeline._pipeline import (
        _PRESET_VALUES,
        make_default_pipeline,
    )
    from sklearn_deepfake.pipeline._self_blended_fit import _split
    from sklearn_deepfake.pretrained import load_pretrained, save_pretrained

    files = {}
    for n in [args.n_frames] if args.n_frames else RESULT_FRAME_COUNTS:
        path = REPO / "benchmarks" / "results" / f"{bench.results_name(n)}.json"
        if path.exists():
            files[n] = json.loads(path.read_text())["outputs"]["results"]
    if not files:
        raise SystemExit("no bench_cross_method results file: run it first")
    # the constant prior is not a detector; the first other recipe must be
    # one the JSON model format can ship (a pooled logistic regression)
    ranking = bench.rank_frame_counts(files)
    recipe_name, n_frames = next(k for k in ranking if k[0] != "prior")
    bench_file = f"benchmarks/results/{bench.results_name(n_frames)}.json"
    res_row = files[n_frames][recipe_name]
    if recipe_name not in PRESET_OF:
        raise SystemExit(
            f"the benchmark ranks {recipe_name!r} first, which the general "
            f"preset cannot ship yet (shippable: {sorted(PRESET_OF)})"
        )
    recipe = bench.RECIPE_BY_NAME[recipe_name]
    features, pooling = PRESET_OF[recipe_name]
    preset = _PRESET_VALUES["general"]
    preset_pooling = tuple(preset["pooling"]) if "pooling" in preset else None
    if (preset["features"], preset_pooling, preset["n_frames"]) != (
        features,
        pooling,
        n_frames,
    ):
        raise SystemExit(
            f"the general preset ({preset}) is not the winning recipe "
            f"{recipe_name!r} ({features}, {pooling}, {n_frames} frames)"
        )

    t0 = time.time()
    rows = data.dataset()
    feats = data.features(rows, n_frames)
    family = np.array([r[2] for r in rows])
    # C (per part for a blend) as the benchmark chose it on all four
    # families (inner log losses of both protocols), in its results file
    chosen = res_row["real-only (trained on all 4)"]
    by_name = bench.RECIPE_BY_NAME
    if recipe.blend:
        head = {
            PART_OF[name]: {
                "C": p["C"],
                **({"temperature": p["temperature"]} if "temperature" in p else {}),
                **({"self_blended": True} if by_name[name].train == "sbi" else {}),
            }
            for name, p in chosen["parts"].items()
        }
        if head != preset["parts"]:
            raise SystemExit(
                f"benchmark chose the parts {head}; the general preset has "
                f"{preset['parts']}"
            )
    else:
        head = {"C": chosen["C"], "temperature": chosen.get("temperature", 1.0)}
        if (head["C"], head["temperature"]) != (
            preset["C"],
            preset.get("temperature", 1.0),
        ):
            raise SystemExit(
                f"benchmark chose {head}; the general preset has "
                f"{preset['C']}, {preset.get('temperature', 1.0)}"
            )
    train_mode = train_mode_of(recipe)

    frames, ytr, _, fit_params = training_set(features, train_mode, rows, feats)

    kwargs = {"preset": "general"}
    pipe = make_default_pipeline(**kwargs, device="cpu")
    # the steps after the features: pooling, scaler and classifier, or a
    # frame-level classifier alone
    _, after = _split(pipe)
    pipe[after:].fit(frames, ytr, **fit_params)
    pipe.named_steps["facecropper"].fit(None)
    pipe.named_steps["features"].fit([])
    p_train = pipe[after:].predict_proba(frames)[:, 1]
    info = {
        "recipe": recipe_name,
        "recipe_description": recipe.describe,
        "training_videos": {
            "dfl-pairs (train+test)": int(
                np.isin(family, ["dfl-pairs", "dfl-real"]).sum()
            ),
            "ffpp-c23": int(
                np.isin(
                    family, ["ffpp-real", "Deepfakes", "Face2Face", "FaceSwap"]
                ).sum()
            ),
            "real-only": int((family == "real-only").sum()),
            "self-blended copies": int(len(ytr) - len(rows))
            if train_mode in ("labels+sbi", "labels+sbi-parts")
            else (int(ytr.sum()) if train_mode == "sbi" else 0),
            "fake share": float(ytr.mean()),
        },
        **({"parts": head} if recipe.blend else head),
        "n_frames": n_frames,
        "benchmark": bench_file,
        # the rule's figures: mean of the two protocols' pooled log losses,
        # then (within bench.TIE of the best) their mean AUC
        "ranking_over_frame_counts": [
            f"{name} ({n} frames): mean log loss "
            f"{bench._mean_of_protocols(files[n][name], 'log_loss'):.4f}, "
            f"mean AUC {bench._mean_of_protocols(files[n][name], 'auc'):.4f}"
            for name, n in ranking[:5]
        ],
        "versions": versions(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_pretrained(pipe, OUT, pipeline_kwargs=kwargs, info=info)

    # the rebuilt model equals the trained one on features ...
    again = load_pretrained(OUT, device="cpu")
    p_again = again[after:].predict_proba(frames)[:, 1]
    max_diff_features = float(np.abs(p_again - p_train).max())
    # ... and the cached features equal the pipeline's own on two videos
    probe = [0, int(np.flatnonzero(family == "real-only")[0])]
    paths = [rows[i][0] for i in probe]
    p_end = again.predict_proba(paths)[:, 1]
    p_cached = again[after:].predict_proba(
        [frame_features(features, feats[i]) for i in probe]
    )[:, 1]
    max_diff_end_to_end = float(np.abs(p_end - p_cached).max())
    print(
        f"recipe {recipe_name}, {n_frames} frames, {head}; "
        f"rebuilt vs trained {max_diff_features:.2e}; "
        f"end to end vs cached {max_diff_end_to_end:.2e}; "
        f"{OUT.stat().st_size} bytes"
    )
    write_results(
        "train_general",
        inputs={
            "videos": {data.key(r[0]): [r[1], r[2], r[3]] for r in rows},
            "n_frames": n_frames,
            "frame_counts_compared": sorted(files),
            "recipe": recipe_name,
            "not used": "dfdc-1080p (2 fakes at 1080p: too few to matter)",
        },
        outputs={
            **info,
            "model_file": str(OUT.relative_to(REPO)),
            "model_bytes": OUT.stat().st_size,
            "train_log_loss": bench._log_loss(ytr, np.clip(p_train, 0.01, 0.99)),
            "max_abs_diff_rebuilt_vs_trained": max_diff_features,
            "max_abs_diff_end_to_end_vs_cached": max_diff_end_to_end,
            "end_to_end_probe": dict(zip([data.key(p) for p in paths], p_end.tolist())),
            "seconds": round(time.time() - t0, 1),
        },
    )


if __name__ == "__main__":
    main()
