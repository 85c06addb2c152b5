"""Each statistic of λ*'s basin against a setting, with the fitted and the predicted slopes.

What the figure shows, as tidy frames (no drawing: ``drawing.optimum`` draws it)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from decaylab import expect as expect_block
from decaylab import metrics
from decaylab.figures.common import Prepared, require
from decaylab.optima import STATISTICS

SPAN = 20
"""Points on each drawn slope line."""

PANELS = {
    "vertex": "judged: vertex λ* (per-seed quadratic; hollow: a gate left it out)",
    **{name: f"exploratory: {text}" for name, text in STATISTICS.items()},
}
"""The statistics drawn, one panel each: the judged one first."""


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
    units = ["", "_timescale"] if f"{next(iter(PANELS))}_timescale" in optima else [""]
    keys = slopes.drop_duplicates(groups)[groups] if groups else pd.DataFrame(index=[0])
    predicted = dict(p[:2] for p in expect_block.predictions(expect)) if expect else {}
    by = expect[expect_block.kind(expect)].get("by") if expect else None
    points, lines, legend = [], [], []
    for unit, name in itertools.product(units, PANELS):
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
                only = predicted.get(None) if by is None else None
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
    return (
        f"Where λ* lies, chosen on {metrics.label(selected_by)} (mean over {seeds} "
        f"seeds); dashed: the fitted slope, dotted: the predicted one. Hollow: on or beyond the "
        f"grid's edge or left out by a gate; grey: not converged (both left out of the fit). "
        f"The judged slope has a t interval over the {seeds} seeds; the others are exploratory."
    )
