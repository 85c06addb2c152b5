"""Drawing the sampled design: its points coloured by a metric, rings on the selected.

Only draws what ``decaylab.figures.scatter.prepare`` computed."""

from __future__ import annotations

from matplotlib.colors import LogNorm, Normalize

from decaylab import metrics
from decaylab.figures.common import Prepared
from decaylab.figures.drawing import axes_grid


def draw(prepared: Prepared, ax=None):
    """One panel per combination of kinds; the selected point ringed red, the close ones
    black; one colour bar."""
    notes, frame = prepared.notes, prepared.frames["points"]
    x, y, scale = notes["x"], notes["y"], notes["scale"]
    norm = (LogNorm if scale["log"] else Normalize)(scale["low"], scale["high"])
    panels = list(dict.fromkeys(frame["panel"]))
    figure, axes = axes_grid(
        ax, 1, len(panels), figsize=(1.5 + 4.2 * len(panels), 4.2), layout="constrained"
    )
    for ax, name in zip(axes[0], panels, strict=True):
        panel = frame[frame["panel"] == name]
        points = ax.scatter(
            panel[x], panel[y], c=panel["value"], cmap=scale["cmap"], norm=norm, s=60
        )
        close, chosen = panel[panel["close"]], panel[panel["selected"]]
        ax.scatter(close[x], close[y], s=160, facecolors="none", edgecolors="black", lw=1)
        ax.scatter(chosen[x], chosen[y], s=220, facecolors="none", edgecolors="red", lw=2)
        for axis, setter in ((x, ax.set_xscale), (y, ax.set_yscale)):
            if notes["log"][axis]:
                setter("log")
        ax.set_xlabel(metrics.label(x))
        ax.set_ylabel(metrics.label(y))
        ax.set_title(name, fontsize=10)
    figure.colorbar(points, ax=axes[0].tolist(), label=notes["colour_label"])
    figure.suptitle(notes["title"], fontsize=9)
    return figure
