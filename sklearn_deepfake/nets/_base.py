"""What the video-level deep classifiers share: clipping, predict and tags."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin


class VideoClassifierMixin(ClassifierMixin):
    """Binary per-video classifier on ``list[FaceTracks]``.

    Subclasses set ``classes_``, ``eps`` and ``random_state`` and implement
    ``predict_proba`` with :meth:`_proba_columns`.
    """

    def _proba_columns(self, fake: Any) -> np.ndarray:
        """Clip fake probabilities to ``[eps, 1 - eps]``; two columns."""
        fake = np.clip(np.asarray(fake, dtype=np.float64), self.eps, 1.0 - self.eps)
        return np.column_stack([1.0 - fake, fake])

    def predict(self, X: Any) -> np.ndarray:
        """Return the predicted class of each video (fake when p >= 0.5).

        Parameters
        ----------
        X : list of FaceTracks
            One record per video.

        Returns
        -------
        y_pred : ndarray of shape (n_videos,)
            ``classes_[1]`` where the fake probability is at least 0.5.
        """
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        return tags
