"""What the video-level deep classifiers share: clipping, predict and tags."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from sklearn_deepfake.utils._labels import fake_class_index


class VideoClassifierMixin(ClassifierMixin):
    """Binary per-video classifier on ``list[FaceTracks]``.

    Subclasses set ``classes_``, ``eps`` and ``random_state`` and implement
    ``predict_proba`` with :meth:`_proba_columns`. The fake class is
    ``classes_[fake_class_index(classes_)]``
    (:func:`~sklearn_deepfake.utils.fake_class_index`): ``1``, True or
    ``"FAKE"``, so with the DFDC labels ``["FAKE", "REAL"]`` it is column 0
    of ``predict_proba``.
    """

    def _fake_index(self) -> int:
        return fake_class_index(self.classes_)

    def _proba_columns(self, fake: Any) -> np.ndarray:
        """Clip fake probabilities to ``[eps, 1 - eps]``; columns of ``classes_``."""
        fake = np.clip(np.asarray(fake, dtype=np.float64), self.eps, 1.0 - self.eps)
        out = np.column_stack([1.0 - fake, fake])
        return out if self._fake_index() == 1 else out[:, ::-1].copy()

    def predict(self, X: Any) -> np.ndarray:
        """Return the predicted class of each video (fake when p >= 0.5).

        Parameters
        ----------
        X : list of FaceTracks
            One record per video.

        Returns
        -------
        y_pred : ndarray of shape (n_videos,)
            The fake class where its probability is at least 0.5.
        """
        k = self._fake_index()
        fake = self.predict_proba(X)[:, k] >= 0.5
        return self.classes_[np.where(fake, k, 1 - k)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        return tags
