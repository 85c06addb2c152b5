"""The figures drawn with matplotlib and seaborn: one module per figure kind, whose ``draw``
only draws what the kind's ``prepare`` computed; here what they share: the theme, the axes to
draw on, and the figure that says why there is nothing to draw."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

THEME = {"context": "notebook", "style": "whitegrid"}
"""Seaborn's theme of every figure, set while it is drawn (never at import)."""


def theme() -> None:
    """Seaborn's :data:`THEME`, set for the figures drawn from now on (ticks and grid lines
    are made when a figure is saved or shown, so the theme stays set after drawing)."""
    sns.set_theme(**THEME)


def axes_grid(ax, rows: int, cols: int, **subplots):
    """The figure and ``(rows, cols)`` array of axes to draw on: ``ax`` where given (an axes or
    an array of them, ``rows × cols`` in all), else a new figure (``plt.subplots``)."""
    if ax is None:
        return plt.subplots(rows, cols, squeeze=False, **subplots)
    axes = np.asarray(ax, dtype=object)
    if axes.size != rows * cols:
        raise ValueError(f"ax: this figure draws on {rows}×{cols} axes, got {axes.size}")
    axes = axes.reshape(rows, cols)
    return axes.flat[0].figure, axes


def message_figure(name: str, reason: str, ax=None):
    """A figure that says what it cannot show, in place of an empty or broken one."""
    figure, axes = axes_grid(ax, 1, 1, figsize=(6.4, 2.4))
    axes[0, 0].axis("off")
    axes[0, 0].text(0.5, 0.6, f"{name}: nothing to draw", ha="center", fontsize=13, weight="bold")
    axes[0, 0].text(0.5, 0.3, reason, ha="center", fontsize=10, wrap=True)
    return figure
