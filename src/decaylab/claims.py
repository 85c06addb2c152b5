"""Predictions as config, verdicts as output: an experiment's ``expect`` judged by equivalence.

An experiment declares, before its runs, the slope of ln λ* on ln x that theory predicts per
group of runs (``by``, e.g. the regularization kind), its rivals, the one statistic that is
judged, the margin, the gates and the identities that check the estimator::

    expect: {slope: {x: learning_rate, by: regularization, statistic: vertex, margin: 0.25,
                     values: {l2: 0}, rivals: {l2: [-1]},
                     identities: [{group: decoupled, minus: l2, difference: 1, guards: [l2]}],
                     gates: {converged: 0.1, learned: 0.25, resolution: 2, identity: 0.1}}}

or, for a scale-invariant network, the slope of its equilibrium's effective learning rate on
η·λ (``expect: {equilibrium: {value: 0.5, statistic: effective_rate}}``).

:func:`verdict` is a two one-sided tests (TOST) rule with the prediction taken as the band
``p ± margin``: *agrees* when the 90 % interval lies inside the band (both one-sided 5 % tests
reject a slope outside it), *disagrees* when the 95 % interval misses the band, *inconclusive*
otherwise (also where no row passed the gates: no estimate). Each rival is judged by the same
rule and named when it agrees. An identity is exact on an infinite grid (``decoupled`` with λ
is ``decoupled_lr`` with λ/η0, so their slopes differ by exactly 1; plain SGD's ``l2`` is
``decoupled_lr``): where the estimate breaks one by more than the ``identity`` tolerance, or it
cannot be computed (fewer than two rows both groups admit), the claims it guards are *estimate
not valid*, not judged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from decaylab.expect import MARGIN, kind, predictions
from decaylab.inference import TOLERANCES, Gates, Measured

AGREES, DISAGREES, INCONCLUSIVE = "agrees", "disagrees", "inconclusive"
NOT_VALID = "estimate not valid"

VARIANTS = {f"{name} ×{label}": (name, factor) for name in TOLERANCES for label, factor in
            (("½", 0.5), ("2", 2.0))}  # fmt: skip
"""The sensitivity table's columns: each tolerance of the gates halved and doubled."""

GATE_WORDS = {
    "n_trained": "untrained",
    "n_equilibrated": "not at equilibrium",
    "n_learned": "learned little",
    "n_resolved": "unresolved",
    "n_inside": "on the grid's edge",
    "n_stable": "diverged",
}
"""Each gate's count column and what a row that failed it is, in words."""
GATE_COUNTS = list(GATE_WORDS)

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
    "ci90_low",
    "ci90_high",
    "ci95_low",
    "ci95_high",
    "expected_width",
    "verdict",
    "rivals_agreeing",
    "identity",
    "seed_slopes",
    "n_x",
    "n_fitted",
    *GATE_COUNTS,
    "n_seeds",
    "rounds",
    "unrefined",
    "exploratory",
    "sensitivity",
    *VARIANTS,
]


def verdict(prediction: float, margin: float, ci90, ci95) -> str:
    """The TOST verdict of intervals ``ci90`` and ``ci95`` (``(low, high)``) on ``prediction ±
    margin``: *agrees* if ``ci90`` lies inside it, *disagrees* if ``ci95`` misses it,
    *inconclusive* otherwise and without intervals."""
    if not np.all(np.isfinite([*ci90, *ci95])):
        return INCONCLUSIVE
    if prediction - margin <= ci90[0] and ci90[1] <= prediction + margin:
        return AGREES
    if ci95[1] < prediction - margin or ci95[0] > prediction + margin:
        return DISAGREES
    return INCONCLUSIVE


def _signed(value: float, digits: int = 2) -> str:
    """``value`` with its sign to ``digits`` decimals, and no "-0.00"."""
    return f"{round(value, digits) + 0.0:+.{digits}f}"


def _identities(claim: dict, group, key: tuple, measured: Measured, gates: Gates):
    """The identity checks guarding ``group`` (row ``key`` of ``measured.primary``): their text
    and whether all hold (True where none guards it)."""
    by = claim.get("by")
    texts, valid = [], True
    for check in claim.get("identities", []):
        if group not in check["guards"]:
            continue
        position = measured.groups.index(by)
        a, b = (key[:position] + (check[g],) + key[position + 1 :] for g in ("group", "minus"))
        differences = measured.seed_difference(a, b)
        found = np.nanmean(differences) if np.isfinite(differences).any() else np.nan
        holds = bool(np.isfinite(found) and abs(found - check["difference"]) <= gates.identity)
        valid &= holds
        name = f"{check['group']} − {check['minus']}"
        exact = f"exact {_signed(check['difference'])} ± {gates.identity:g}"
        if np.isfinite(found):
            texts.append(f"{name} = {_signed(found)} ({exact}): {'holds' if holds else 'fails'}")
        else:
            texts.append(f"{name}: not computable (< 2 rows both admit), counts as failed")
    return "; ".join(texts), valid


def expected_width(claim: dict, group) -> float:
    """The 90 % interval's width the pilot led to expect for ``group`` (``claim``'s
    ``expected_width``: one number or one per group, written in the config before the run); NaN
    where none was written."""
    width = claim.get("expected_width", np.nan)
    if isinstance(width, dict):
        width = width.get(group, np.nan)
    return float(width)


def _judged(experiment: str, expect: dict, measured: Measured, gates: Gates) -> list[dict]:
    """The claim rows of ``expect`` under one set of ``gates``."""
    claim = expect[kind(expect)]
    by, margin = claim.get("by"), float(claim.get("margin", MARGIN))
    rows = []
    for group, prediction, rivals in predictions(expect):
        mine = measured.primary
        if group is not None and by in mine:
            mine = mine[mine[by].astype(str) == group]
        for _, row in mine.iterrows():
            key = tuple(row[c] for c in measured.groups)
            identity, valid = _identities(claim, group, key, measured, gates)
            ci90, ci95 = (row["ci90_low"], row["ci90_high"]), (row["ci95_low"], row["ci95_high"])
            within = ", ".join(f"{c} {row[c]}" for c in measured.groups if c != by)
            agreeing = [r for r in rivals if verdict(r, margin, ci90, ci95) == AGREES]
            explored = measured.exploratory
            for c in measured.groups:
                explored = explored[explored[c] == row[c]]
            rows.append(
                {
                    "experiment": experiment,
                    "x": row["x"],
                    "by": by or "",
                    "group": " · ".join(g for g in (group, within) if g),
                    "statistic": row["statistic"],
                    "prediction": prediction,
                    "rivals": "; ".join(f"{r:g}" for r in rivals),
                    "margin": margin,
                    **{c: row[c] for c in ("slope", "ci90_low", "ci90_high", "ci95_low")},
                    "ci95_high": row["ci95_high"],
                    "expected_width": expected_width(claim, group),
                    "verdict": verdict(prediction, margin, ci90, ci95)
                    if valid or not np.isfinite(row["slope"])  # no estimate: nothing to check
                    else NOT_VALID,
                    "rivals_agreeing": "; ".join(f"{r:g}" for r in agreeing),
                    "identity": identity,
                    "seed_slopes": row.get("seed_slopes", ""),
                    **{c: row.get(c, np.nan) for c in ("n_x", "n_fitted", *GATE_COUNTS)},
                    "n_seeds": row["n_seeds"],
                    "exploratory": "; ".join(
                        f"{s} {_signed(v)}" if np.isfinite(v) else f"{s} no fit"
                        for s, v in zip(explored["statistic"], explored["slope"], strict=True)
                    ),
                }
            )
    return rows


def judge(
    experiment: str,
    expect: dict,
    measure: Callable[[Gates], Measured],
    rounds: int = 0,
    unrefined: Callable[[Gates], Measured] | None = None,
) -> pd.DataFrame:
    """One row per prediction of ``expect`` (the ``expect`` entry of ``experiment``'s config)
    and group: the judged statistic with its 90 % and 95 % intervals, the verdict, the rivals that
    agree, the identity checks, the gate counts, and the verdict with each tolerance halved and
    doubled (``measure(gates)``: the :class:`Measured` of the runs under ``gates``). ``rounds``:
    the refinement rounds whose runs ``measure`` used (``decaylab.refine``); ``unrefined``: the
    measure of the config's grid alone, whose estimate and verdict each row gives beside its own
    (exploratory: the design judges the refined grid)."""
    gates = Gates.of(expect[kind(expect)])
    table = pd.DataFrame(_judged(experiment, expect, measure(gates), gates))
    table["rounds"] = rounds
    table["unrefined"] = _unrefined_text(experiment, expect, unrefined, gates, table)
    changed = [[] for _ in range(len(table))]
    for column, (name, factor) in VARIANTS.items():
        varied = gates.scaled(name, factor)
        verdicts = [row["verdict"] for row in _judged(experiment, expect, measure(varied), varied)]
        table[column] = verdicts
        for i, found in enumerate(verdicts):
            if found != table["verdict"].iloc[i]:
                changed[i].append(f"{column}: {found}")
    table["sensitivity"] = ["; ".join(c) or "unchanged" for c in changed]
    return table.reindex(columns=COLUMNS)


def _unrefined_text(experiment, expect, unrefined, gates, table) -> list[str]:
    """Per claim row of ``table``, the estimate and verdict on the config's grid alone (empty
    without ``unrefined``)."""
    if unrefined is None or not len(table):
        return [""] * len(table)
    rows = {r["group"]: r for r in _judged(experiment, expect, unrefined(gates), gates)}
    return [
        f"{interval_text(rows[g], 90)}: {rows[g]['verdict']} (exploratory)"
        if g in rows
        else "no estimate"
        for g in table["group"]
    ]


def read(path) -> pd.DataFrame:
    """The claims table at ``path`` as written by the study (empty text cells stay empty,
    not NaN)."""
    text = [c for c in COLUMNS if c in ("by", "group", "rivals", "rivals_agreeing", "identity")]
    text += ["seed_slopes", "unrefined", "exploratory", "sensitivity", "design_digest"]
    text += ["inference_digest", "design_commit"]
    text += ["trained_commit", "prediction_first"]
    table = pd.read_csv(path, dtype=dict.fromkeys(text, str))
    return table.fillna({c: "" for c in text if c in table})


def precision(low: float, high: float) -> int:
    """Decimals that show an interval ``[low, high]`` to its width: two significant digits of
    its width, at least one decimal and at most four."""
    width = high - low
    if not np.isfinite(width) or width <= 0:
        return 2
    return int(np.clip(1 - np.floor(np.log10(width)), 1, 4))


def bounds_text(row, confidence: int = 95) -> str:
    """``[−0.10, +0.34]``: the interval at ``confidence`` % of a claim (``row`` of a claims
    table), to the precision it has ("—" without one)."""
    low, high = row[f"ci{confidence}_low"], row[f"ci{confidence}_high"]
    if not (np.isfinite(low) and np.isfinite(high)):
        return "—"
    digits = precision(row["ci95_low"], row["ci95_high"])
    return f"[{_signed(low, digits)}, {_signed(high, digits)}]".replace("-", "−")


def interval_text(row, confidence: int = 95) -> str:
    """``+0.12 [−0.10, +0.34]``: the estimate of a claim (``row`` of a claims table) and its
    interval at ``confidence`` %, to the precision the 95 % interval has."""
    if not np.isfinite(row["slope"]):
        return "no fit"
    if not np.isfinite(row[f"ci{confidence}_low"]):
        return f"{_signed(row['slope'])} (one seed: no interval)"
    digits = precision(row["ci95_low"], row["ci95_high"])
    return f"{_signed(row['slope'], digits)} {bounds_text(row, confidence)}".replace("-", "−")


def gates_text(row) -> str:
    """How many rows of x entered a claim's fit (``row`` of a claims table), and why the others
    did not."""
    if not np.isfinite(row["n_fitted"]):
        return ""
    counts = {c: row.get(c, np.nan) for c in GATE_COUNTS}  # a table older than a gate lacks it
    failed = [f"{int(n)} {GATE_WORDS[c]}" for c, n in counts.items() if np.isfinite(n) and n > 0]
    return f"{int(row['n_fitted'])} of {int(row['n_x'])}" + (
        f" ({', '.join(failed)})" if failed else ""
    )


def prediction_text(row) -> str:
    """``+0 ± 0.25 (rivals −1)``: a claim's prediction (``row`` of a claims table)."""
    rivals = row["rivals"].replace("-", "−") if row["rivals"] else "none"
    return f"{row['prediction']:+g} ± {row['margin']:g} (rivals {rivals})".replace("-", "−")


def markdown(table: pd.DataFrame) -> str:
    """The claims ``table`` as a Markdown table: one row per claim with its prediction, the
    estimate with its 90 % and 95 % intervals, the verdict, the rivals that agree, the rows
    fitted and the identity check."""
    header = ["experiment", "group", "predicted", "estimate [90 %]", "[95 %]", "verdict"]
    header += ["rows fitted", "identity check", "sensitivity"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        verdict_cell = f"**{row['verdict']}**"
        if row["rivals_agreeing"]:
            verdict_cell += f" (rival {row['rivals_agreeing']} agrees)"
        cells = [
            row["experiment"],
            row["group"] or "—",
            prediction_text(row),
            interval_text(row, 90),
            bounds_text(row, 95),
            verdict_cell,
            gates_text(row),
            row["identity"] or "—",
            row["sensitivity"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def status(table: pd.DataFrame) -> str:
    """Whether a stamped claims ``table``'s verdicts are confirmatory (the design committed before
    the runs that judge it, on fresh seeds: ``prediction_first``) or exploratory, in one
    sentence."""
    first = table["prediction_first"].eq("yes")
    if first.all():
        return (
            "Confirmatory: every prediction's design was committed before the runs that judge "
            "it, on seeds it had never listed."
        )
    if not first.any():
        return (
            f"Exploratory: none of the {len(table)} predictions' designs was committed before "
            "the runs that judge them on fresh seeds; their verdicts test nothing fixed in "
            "advance."
        )
    confirmed = ", ".join(sorted(set(table.loc[first, "experiment"])))
    return (
        f"{int(first.sum())} of {len(table)} predictions are confirmatory ({confirmed}: the "
        "design committed before the runs, on seeds it had never listed); the other "
        f"{int((~first).sum())} are exploratory: their verdicts test nothing fixed in advance."
    )


def summary(table: pd.DataFrame) -> str:
    """The end-of-run digest of a claims ``table``: one line per claim."""
    return "\n".join(
        f"{row['experiment']} {row['group']}: predicted {prediction_text(row)}; "
        f"{interval_text(row)} {row['verdict']}".replace("  ", " ")
        for _, row in table.iterrows()
    )
