"""The claims as a forest plot: each claim's 90 % and 95 % intervals against its prediction's
band and its rivals' bands (the study's figure, made by the ``claims`` rule, not a kind of an
experiment's ``figures``).

What the figure shows, as tidy frames (no drawing: ``drawing.forest`` draws it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decaylab.figures.common import Prepared, require


def _rivals(text: str) -> list[float]:
    return [float(r) for r in text.split(";") if r.strip()]


def prepare(claims: pd.DataFrame) -> Prepared:
    """Frames ``claims`` (per claim its row ``y``, label, estimate, intervals and verdict) and
    ``bands`` (per claim its prediction's and each rival's band, ``role`` prediction or rival)
    from a claims table (:mod:`decaylab.claims`)."""
    require(len(claims) > 0, "no claim: no experiment has an expect")
    frame = claims.reset_index(drop=True).assign(
        y=lambda f: np.arange(len(f)),
        label=lambda f: [
            f"{e} · {g}" if g else e for e, g in zip(f["experiment"], f["group"], strict=True)
        ],
    )
    bands = []
    for _, row in frame.iterrows():
        for role, centre in [("prediction", row["prediction"])] + [
            ("rival", r) for r in _rivals(row["rivals"])
        ]:
            bands.append(
                {
                    "y": row["y"],
                    "role": role,
                    "low": centre - row["margin"],
                    "high": centre + row["margin"],
                }
            )
    columns = ["y", "label", "statistic", "prediction", "slope", "ci90_low", "ci90_high"]
    return Prepared(
        "forest",
        {
            "claims": frame[[*columns, "ci95_low", "ci95_high", "verdict"]],
            "bands": pd.DataFrame(bands),
        },
        {"seeds": sorted(set(claims["n_seeds"].astype(int)))},
    )
