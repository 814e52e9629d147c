"""The ``general-blend`` preset's head: two logistic regressions, logits averaged."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["StatBlockColumns", "general_head", "general_part_columns"]


class StatBlockColumns:
    """Columns ``start:stop`` of every pooled statistic's block of ``width``.

    :class:`~sklearn_deepfake.features.TemporalPooling` writes one block of
    the per-frame columns per statistic (no count columns in the
    ``general-blend`` preset), so a part that reads some per-frame columns reads
    them in every block, however many statistics are pooled.

    Parameters
    ----------
    start, stop : int
        Per-frame columns of the part.
    width : int
        Per-frame columns in all.

    Examples
    --------
    >>> StatBlockColumns(1, 3, 4)(8).tolist()
    [1, 2, 5, 6]
    """

    def __init__(self, start: int, stop: int, width: int) -> None:
        self.start = start
        self.stop = stop
        self.width = width

    def __call__(self, n_features: int) -> np.ndarray:
        """Positions among ``n_features`` pooled columns."""
        if n_features % self.width:
            raise ValueError(
                f"{n_features} pooled columns are not whole blocks of "
                f"{self.width} per-frame columns (count columns?)."
            )
        return np.concatenate(
            [
                np.arange(k * self.width + self.start, k * self.width + self.stop)
                for k in range(n_features // self.width)
            ]
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StatBlockColumns) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((self.start, self.stop, self.width))

    def __repr__(self) -> str:
        return f"StatBlockColumns({self.start}, {self.stop}, {self.width})"


def general_part_columns() -> dict[str, StatBlockColumns]:
    """Pooled columns of each part of the ``"faceres+identity"`` features.

    Per frame the features are the 1024-d HSE FaceRes descriptor followed by
    the identity cues.

    Returns
    -------
    columns : dict
        ``{"faceres": StatBlockColumns, "identity": StatBlockColumns}``.
    """
    from sklearn_deepfake.features._face_backbones import _SPECS
    from sklearn_deepfake.features._face_recognition import _IdentityCues

    n_faceres = _SPECS["hse_faceres"][1]
    d = n_faceres + _IdentityCues().fit(None).n_features_out_
    return {
        "faceres": StatBlockColumns(0, n_faceres, d),
        "identity": StatBlockColumns(n_faceres, d, d),
    }


def general_head(parts: dict[str, dict[str, Any]], eps: float) -> Any:
    """Build the ``general-blend`` preset's unfitted :class:`LogitBlendClassifier`.

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

    columns = general_part_columns()
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
