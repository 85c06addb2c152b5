"""Predictions as config, verdicts as output: an experiment's ``expect`` against its slopes.

An experiment may declare the slope of log λ* on log x that theory predicts, per group of runs
(``by``, e.g. the regularization kind), and the rival predictions it must be told apart from::

    expect: {slope: {x: learning_rate, by: regularization,
                     values: {l2: 0, decoupled: 1}, rivals: {l2: [-1], decoupled: [0]}}}

or, for a scale-invariant network, the slope of its equilibrium's effective learning rate on
η·λ (``expect: {equilibrium: {value: 0.5}}``, :mod:`decaylab.equilibrium`).

:func:`claims` pairs every prediction with each statistic's measured slope and 95 % interval
(:mod:`decaylab.optima`) and :func:`verdict` decides, with each prediction taken as a band
``± margin`` (:data:`MARGIN`): *agrees* when the interval meets the prediction's band and no
rival's, *disagrees* when it misses the prediction's band, and *inconclusive* otherwise (an
interval too wide to tell them apart, or none at all).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab import optima

AGREES, DISAGREES, INCONCLUSIVE = "agrees", "disagrees", "inconclusive"

COLUMNS = [
    "experiment",
    "x",
    "by",
    "group",
    "statistic",
    "prediction",
    "rivals",
    "margin",
    "slope",
    "ci95_low",
    "ci95_high",
    "verdict",
    "n_fitted",
    "n_x",
    "n_unconverged",
    "n_flagged",
    "n_seeds",
]

MARGIN = 0.25
"""How far a slope may lie from a prediction and still count as it (``expect.slope.margin``).
The predictions hold for a network trained to equilibrium on an infinite grid; an interval over
seeds alone is narrow enough (±0.01) to reject 0 for a slope of 0.02, so a claim is tested
against a band, written down with it. A quarter keeps the bands of predictions one apart
(−1, 0, +1) disjoint with room between."""


def verdict(prediction: float, rivals, low: float, high: float, margin: float = MARGIN) -> str:
    """*agrees* if the interval ``[low, high]`` meets ``prediction ± margin`` and meets no ``rival ±
    margin`` of ``rivals``; *disagrees* if it misses ``prediction ± margin``; *inconclusive*
    otherwise, and without an interval."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return INCONCLUSIVE

    def meets(value):
        return low <= value + margin and value - margin <= high

    if not meets(prediction):
        return DISAGREES
    if any(meets(rival) for rival in rivals):
        return INCONCLUSIVE
    return AGREES


def kind(expect: dict) -> str:
    """What an ``expect`` predicts: ``slope`` (of log λ* on log x) or ``equilibrium`` (of the
    effective learning rate on η·λ, :mod:`decaylab.equilibrium`)."""
    return "slope" if "slope" in expect else "equilibrium"


def predictions(expect: dict) -> list[tuple[str | None, float, list[float]]]:
    """``(group, prediction, rivals)`` of an ``expect``: one per entry of ``values`` (with
    ``by``), or the one ``value`` (without)."""
    slope = expect[kind(expect)]
    if "by" not in slope:
        return [(None, float(slope["value"]), [float(r) for r in slope.get("rivals", [])])]
    rivals = slope.get("rivals", {})
    return [
        (group, float(value), [float(r) for r in rivals.get(group, [])])
        for group, value in slope["values"].items()
    ]


def judge(experiment: str, expect: dict, slopes: pd.DataFrame) -> pd.DataFrame:
    """One row per prediction of ``expect`` (the ``expect`` entry of ``experiment``'s config) and
    statistic of ``slopes`` (``optima.slopes``, or ``equilibrium.slope``): the prediction, its
    rivals, the measured slope with its interval, and the verdict."""
    by = expect[kind(expect)].get("by")
    margin = float(expect[kind(expect)].get("margin", MARGIN))
    measured = {"x", "statistic", "slope", "ci95_low", "ci95_high", "selected_by"}
    others = [c for c in slopes if c not in measured and not c.startswith("n_") and c != by]
    rows = []
    for group, prediction, rivals in predictions(expect):
        mine = slopes if group is None or by not in slopes else slopes[slopes[by] == group]
        for statistic in mine["statistic"].unique():
            for _, row in mine[mine["statistic"] == statistic].iterrows():
                within = ", ".join(f"{c} {row[c]}" for c in others)  # e.g. one per optimizer
                rows.append(
                    {
                        "experiment": experiment,
                        "x": row["x"],
                        "by": by or "",
                        "group": " · ".join(g for g in (group, within) if g),
                        "statistic": statistic,
                        "prediction": prediction,
                        "rivals": "; ".join(f"{r:g}" for r in rivals),
                        "margin": margin,
                        "slope": row["slope"],
                        "ci95_low": row["ci95_low"],
                        "ci95_high": row["ci95_high"],
                        "verdict": verdict(
                            prediction, rivals, row["ci95_low"], row["ci95_high"], margin
                        ),
                        **{c: row[c] for c in COLUMNS if c.startswith("n_")},
                    }
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def read(path) -> pd.DataFrame:
    """The claims table at ``path`` as written by the study (empty text cells stay empty,
    not NaN)."""
    text = {"by": str, "group": str, "rivals": str}
    return pd.read_csv(path, dtype=text).fillna({c: "" for c in text})


def _signed(value: float) -> str:
    """``value`` to two decimals with its sign, and no "-0.00"."""
    return f"{round(value, 2) + 0.0:+.2f}"


def _interval(row) -> str:
    if not np.isfinite(row["slope"]):
        return "no fit"
    if not np.isfinite(row["ci95_low"]):
        return _signed(row["slope"])
    return f"{_signed(row['slope'])} [{_signed(row['ci95_low'])}, {_signed(row['ci95_high'])}]"


STATISTIC_NAMES = {
    **{name: text.split(" (")[0] for name, text in optima.STATISTICS.items()},
    "effective_rate": "effective rate η/‖w‖² on η·λ",
}


def markdown(table: pd.DataFrame, statistics=("parabola", "edge", "argmin")) -> str:
    """The claims ``table`` as a Markdown table: one row per prediction, per statistic of
    ``statistics`` (the columns' order) its slope with the
    95 % interval and verdict, and how many values of x were fitted of how many; a claim about
    another statistic (the equilibrium's) in the first column."""
    header = ["experiment", "group", "predicted (rivals)"]
    header += [STATISTIC_NAMES[s] for s in statistics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    keys = ["experiment", "group", "prediction", "rivals"]
    for (experiment, group, prediction, rivals), rows in table.groupby(keys, sort=False):
        margin = rows["margin"].iloc[0]
        cells = [experiment, group or "—", f"{prediction:+g} ± {margin:g} ({rivals or 'none'})"]
        other = rows[~rows["statistic"].isin(statistics)]  # e.g. the equilibrium's slope
        if len(other):
            cells[1] = STATISTIC_NAMES[other["statistic"].iloc[0]]
        for statistic in statistics:
            found = rows[rows["statistic"] == statistic]
            if found.empty and statistic == statistics[0]:
                found = other
            if found.empty:
                cells.append("—")
                continue
            row = found.iloc[0]
            cells.append(
                f"{_interval(row)} **{row['verdict']}**, {int(row['n_fitted'])} of "
                f"{int(row['n_x'])} fitted"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(table: pd.DataFrame) -> str:
    """The end-of-run digest of a claims ``table``: one line per prediction, each statistic's
    slope and verdict."""
    lines = []
    keys = ["experiment", "group", "prediction"]
    for (experiment, group, prediction), rows in table.groupby(keys, sort=False):
        found = "; ".join(
            f"{row['statistic']} {_interval(row)} {row['verdict']}" for _, row in rows.iterrows()
        )
        lines.append(f"{experiment} {group}: predicted {prediction:+g}; {found}".replace("  ", " "))
    return "\n".join(lines)
