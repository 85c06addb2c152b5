"""Each statistic of λ*'s basin against a setting, with the fitted and the predicted slopes."""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from decaylab import claims, metrics
from decaylab.figures.common import DIVERGED_COLOUR, Prepared, require, tick
from decaylab.figures.drawing import axes_grid
from decaylab.optima import STATISTICS

SPAN = 20
"""Points on each drawn slope line."""


def prepare(optima, slopes, x: str, expect: dict | None = None) -> Prepared:
    """Frames ``points`` (per row ``unit`` — "" or "_timescale" —, statistic, group ``g``:
    each positive value, its ``state`` fitted, flagged or unconverged), ``lines`` (the fitted
    slope, dashed, and the one ``expect`` predicts, dotted, through the fitted points'
    centre: ``log v = mean(log v − b·log x) + b·log x``) and ``legend`` (each group's slope
    with its bootstrap interval, from ``slopes``)."""
    require(
        (optima["argmin"] > 0).any(),
        "no positive λ* to draw (every best strength is 0, or every run diverged)",
    )
    groups = [c for c in slopes if c in optima and c not in (x, "x", "statistic")]
    units = ["", "_timescale"] if f"{next(iter(STATISTICS))}_timescale" in optima else [""]
    keys = slopes.drop_duplicates(groups)[groups] if groups else pd.DataFrame(index=[0])
    predicted = {group: value for group, value, _ in claims.predictions(expect)} if expect else {}
    by = expect[claims.kind(expect)].get("by") if expect else None
    points, lines, legend = [], [], []
    for unit, name in itertools.product(units, STATISTICS):
        for g, (_, key) in enumerate(keys.iterrows()):
            mine, rows = optima, slopes[slopes["statistic"] == name]
            for column in groups:
                mine, rows = mine[mine[column] == key[column]], rows[rows[column] == key[column]]
            where = {"unit": unit, "statistic": name, "g": g}
            found = _points(mine, name + unit, x).assign(**where)
            points.append(found)
            row = rows.iloc[0]
            if unit:
                guess = 0.0
            else:
                only = next(iter(predicted.values())) if len(predicted) == 1 else None
                guess = predicted.get(str(key[by]) if by in groups else None, only)
            lines.append(_lines(found, None if unit else row["slope"], guess).assign(**where))
            group = ", ".join(str(key[c]) for c in groups) or "all runs"
            legend.append({**where, "label": f"{group}: {_slope_words(row)}"})
    seeds = int(slopes["n_seeds"].max())
    return Prepared(
        "optimum",
        {"points": pd.concat(points), "lines": pd.concat(lines), "legend": pd.DataFrame(legend)},
        {
            "x": x,
            "units": units,
            "ticks": np.sort(optima[x].unique()),
            "title": _title(slopes["selected_by"].iloc[0], seeds),
        },
    )


def _points(mine: pd.DataFrame, column: str, x: str) -> pd.DataFrame:
    """The positive values of ``column`` against ``x`` with their state: ``fitted`` (in the
    fit), ``flagged`` (on or beyond the grid's edge), ``unconverged``."""
    statistic = column.removesuffix("_timescale")
    value = mine[column].to_numpy(float)
    flagged = mine[f"{statistic}_flagged"].to_numpy(bool)
    trained = mine["converged"].to_numpy(bool)
    state = np.where(~trained, "unconverged", np.where(flagged, "flagged", "fitted"))
    frame = pd.DataFrame({"x": mine[x].to_numpy(float), "value": value, "state": state})
    return frame[np.isfinite(value) & (value > 0)]


def _lines(points: pd.DataFrame, slope: float | None, guess: float | None) -> pd.DataFrame:
    """The dashed fitted and dotted predicted lines through the fitted ``points`` (two or
    more)."""
    fitted = points[points["state"] == "fitted"]
    if len(fitted) < 2:
        return pd.DataFrame(columns=["line", "x", "value"])
    logs, logv = np.log(fitted["x"].to_numpy()), np.log(fitted["value"].to_numpy())
    span = np.linspace(logs.min(), logs.max(), SPAN)
    lines = []
    for line, b in (("fitted", slope), ("predicted", guess)):
        if b is not None and pd.notna(b):
            centre = np.mean(logv - b * logs) + b * span
            lines.append(pd.DataFrame({"line": line, "x": np.exp(span), "value": np.exp(centre)}))
    return pd.concat(lines) if lines else pd.DataFrame(columns=["line", "x", "value"])


def _slope_words(row: pd.Series) -> str:
    """A slope with its 95 % interval (or why it has none), for the legend."""
    if pd.isna(row["slope"]):
        return "no fit"
    if pd.notna(row["ci95_low"]):
        return f"{row['slope']:+.2f} [{row['ci95_low']:+.2f}, {row['ci95_high']:+.2f}]"
    return f"{row['slope']:+.2f}" + (" (one seed)" if row["n_seeds"] < 2 else "")


def _title(selected_by: str, seeds: int) -> str:
    distinct = math.comb(2 * seeds - 1, seeds)
    return (
        f"Where λ* lies, chosen on {metrics.label(selected_by)} (mean over {seeds} "
        f"seeds); dashed: the fitted slope, dotted: the predicted one. Hollow: on or beyond the "
        f"grid's edge; grey: not converged (both left out of the fit). {seeds} seeds allow "
        f"{distinct} distinct bootstrap draws, so an arg-min's interval may end on its estimate."
    )


def draw(prepared: Prepared, ax=None):
    """One panel per statistic (and row per unit), log-log, one colour per group."""
    notes, frames = prepared.notes, prepared.frames
    units, names = notes["units"], list(STATISTICS)
    figure, axes = axes_grid(
        ax,
        len(units),
        len(names),
        figsize=(4.3 * len(names), 4.6 * len(units)),
        sharex=True,
        sharey="row",
        layout="constrained",
    )
    n_groups = int(frames["legend"]["g"].max()) + 1
    palette = sns.color_palette(n_colors=max(n_groups, 1))
    for (unit, name), ax in zip(itertools.product(units, names), axes.flat, strict=True):
        for g, colour in zip(range(n_groups), palette, strict=False):
            _draw_group(ax, frames, {"unit": unit, "statistic": name, "g": g}, colour)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(notes["ticks"], labels=[tick(t) for t in notes["ticks"]], fontsize=8)
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_xlabel(metrics.label(notes["x"]))
        if unit:
            ax.set_title("… as the timescale τ = 1/(η·λ·M)", fontsize=9)
        else:
            ax.set_title(STATISTICS[name], fontsize=9)
            ax.legend(fontsize=7, title="slope of log λ [95 % CI]", title_fontsize=7, loc="best")
    axes[0, 0].set_ylabel("λ (per statistic)")
    if len(units) > 1:
        axes[1, 0].set_ylabel("τ in epochs (per statistic)")
    figure.suptitle(notes["title"], fontsize=8, wrap=True)
    return figure


def _draw_group(ax, frames: dict, where: dict, colour) -> None:
    """One group's points (filled, hollow where flagged, grey where unconverged), the thin
    line through them, its fitted and predicted lines and its legend entry."""

    def mine(frame):
        keep = np.ones(len(frame), dtype=bool)
        for key, value in where.items():
            keep &= (frame[key] == value).to_numpy()
        return frame[keep]

    points, lines = mine(frames["points"]), mine(frames["lines"])
    ax.plot(points["x"], points["value"], color=colour, lw=0.8, alpha=0.4)
    for state, style in (
        ("fitted", {"color": colour}),
        ("flagged", {"facecolors": "white", "edgecolors": colour}),
        ("unconverged", {"color": DIVERGED_COLOUR}),
    ):
        shown = points[points["state"] == state]
        ax.scatter(shown["x"], shown["value"], zorder=3, **style)
    for line, style in (
        ("fitted", {"ls": "--"}),
        ("predicted", {"ls": ":", "lw": 2, "alpha": 0.7}),
    ):
        drawn = lines[lines["line"] == line]
        if len(drawn):
            ax.plot(drawn["x"], drawn["value"], color=colour, **style)
    (label,) = mine(frames["legend"])["label"]
    ax.plot([], [], color=colour, marker="o", ls="--", label=label)
