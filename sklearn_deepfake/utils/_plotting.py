"""Matplotlib plumbing shared by the display classes."""

from __future__ import annotations

from typing import Any

#: Docstring entries shared by the Displays (filled in by ``fill_doc``).
_PLOT_DOCS = {
    "ax": """ax : matplotlib Axes, default=None
    Axes to draw on; a new figure when None.""",
    "ax_figure_": """ax_ : matplotlib Axes
    Axes the display is drawn on.
figure_ : matplotlib Figure
    Figure holding ``ax_``.""",
}


def import_pyplot(feature: str = "Plotting") -> Any:
    """Import ``matplotlib.pyplot`` or say which extra provides it.

    Parameters
    ----------
    feature : str, default="Plotting"
        What needs matplotlib, named in the error message.

    Returns
    -------
    plt : module
        ``matplotlib.pyplot``.

    Examples
    --------
    >>> from sklearn_deepfake.utils._plotting import import_pyplot
    >>> import_pyplot().__name__
    'matplotlib.pyplot'
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is installed in CI
        raise ImportError(
            f"{feature} needs matplotlib: pip install 'sklearn-deepfake[plot]'."
        ) from exc
    return plt


def check_axes(ax: Any, feature: str = "Plotting") -> tuple[Any, Any]:
    """Return ``(ax, figure)``, making a new figure when ``ax`` is None.

    Parameters
    ----------
    ax : matplotlib Axes or None
        Axes to draw on.
    feature : str, default="Plotting"
        What needs matplotlib, named in the error message.

    Returns
    -------
    ax : matplotlib Axes
        ``ax``, or the axes of a new figure.
    figure : matplotlib Figure
        The figure holding ``ax``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_deepfake.utils._plotting import check_axes
    >>> ax, fig = check_axes(None)
    >>> ax.figure is fig
    True
    """
    plt = import_pyplot(feature)
    if ax is None:
        _, ax = plt.subplots()
    return ax, ax.figure
