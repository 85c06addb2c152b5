"""An experiment's ``expect`` block read: what it predicts, per group, and against which rivals.

Plain Python, so that checking a config (planning) reads it without the numerical libraries
that judging it (:mod:`decaylab.claims`) needs.
"""

from __future__ import annotations

MARGIN = 0.25
"""The default margin (``expect.slope.margin``): the predictions hold for a network trained to
equilibrium on an infinite grid, so a claim is tested against a band written down with it; a
quarter keeps the bands of predictions one apart (−1, 0, +1) disjoint with room between."""


def kind(expect: dict) -> str:
    """What an ``expect`` predicts: ``slope`` (of ln λ* on ln x) or ``equilibrium`` (of the
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


def overlapping_rivals(prediction: float, rivals, margin: float) -> list[float]:
    """The rivals whose band ``r ± margin`` overlaps the prediction's (closer than two margins):
    such a claim could agree with both, and is refused."""
    return [r for r in rivals if abs(r - prediction) < 2 * margin]
