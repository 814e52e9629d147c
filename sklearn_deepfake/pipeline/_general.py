"""The head of the ``general`` preset: two logistic regressions, logits averaged."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["general_head", "general_part_columns"]


def general_part_columns(n_stats: int = 2) -> dict[str, np.ndarray]:
    """Pooled columns of each part of the ``"faceres+identity"`` features.

    Per frame the features are the 1024-d HSE FaceRes descriptor followed by
    the identity cues; :class:`~sklearn_deepfake.features.TemporalPooling`
    writes each statistic over all of them in turn (no count columns).

    Parameters
    ----------
    n_stats : int, default=2
        Statistics pooled (mean and standard deviation).

    Returns
    -------
    columns : dict
        ``{"faceres": positions, "identity": positions}``.
    """
    from sklearn_deepfake.features._face_backbones import _SPECS
    from sklearn_deepfake.features._face_recognition import _IdentityCues

    n_faceres = _SPECS["hse_faceres"][1]
    n_identity = _IdentityCues().fit(None).n_features_out_
    d = n_faceres + n_identity
    return {
        "faceres": np.concatenate(
            [np.arange(k * d, k * d + n_faceres) for k in range(n_stats)]
        ),
        "identity": np.concatenate(
            [np.arange(k * d + n_faceres, (k + 1) * d) for k in range(n_stats)]
        ),
    }


def general_head(parts: dict[str, dict[str, Any]], eps: float, n_stats: int) -> Any:
    """Build the ``general`` preset's unfitted :class:`LogitBlendClassifier`.

    Each part is ``StandardScaler`` -> ``ClippedClassifier(LogisticRegression)``
    on its own columns, with the ``C`` and ``temperature`` of ``parts``;
    a part with ``"self_blended": True`` learns from self-blended copies when
    ``fit`` gets them.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_deepfake.calibration import ClippedClassifier
    from sklearn_deepfake.classifiers import LogitBlendClassifier

    columns = general_part_columns(n_stats)
    estimators = [
        (
            name,
            make_pipeline(
                StandardScaler(),
                ClippedClassifier(
                    LogisticRegression(C=p["C"], max_iter=3000),
                    eps=eps,
                    temperature=p.get("temperature", 1.0),
                ),
            ),
            columns[name],
        )
        for name, p in parts.items()
    ]
    return LogitBlendClassifier(
        estimators,
        self_blended_parts=tuple(n for n, p in parts.items() if p.get("self_blended")),
    )
