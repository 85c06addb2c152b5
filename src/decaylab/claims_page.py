"""The report's claims page: the forest plot first, then one row per claim, designed to be read
at a glance: the prediction, the estimate and its intervals to the precision they have, the
verdict by colour and word, which rows entered the fit and why the others did not, the identity
check and the sensitivity to the gates, in plain language."""

from __future__ import annotations

import html

import pandas as pd

from decaylab import claims

COLOURS = {
    claims.AGREES: "#1b7837",
    claims.DISAGREES: "#c51b7d",
    claims.INCONCLUSIVE: "#6b6b6b",
    claims.NOT_VALID: "#000000",
}

STYLE = (
    "body{font-family:sans-serif;margin:1em;max-width:90em} table{border-collapse:collapse}"
    "td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4} .v{color:#fff;border-radius:3px;padding:1px 6px;white-space:nowrap}"
    ".n{font-variant-numeric:tabular-nums;white-space:nowrap} .small{font-size:85%;color:#444}"
    "svg{width:100%;max-width:70em;height:auto}"
    ".banner{background:#fff3cd;border:1px solid #e0c36b;padding:6px 10px;margin:8px 0}"
)


def _width_text(row: pd.Series) -> str:
    """The 90 % interval's width beside the pilot's expectation, where one was written."""
    expected = row.get("expected_width", float("nan"))
    if pd.isna(expected):
        return ""
    width = row["ci90_high"] - row["ci90_low"]
    return f"<br><span class='n small'>width {width:.3g} (pilot expected {expected:.3g})</span>"


def _rounds_text(row: pd.Series) -> str:
    """Which refinement rounds the estimate used, and the estimate on the config's grid alone."""
    if not row.get("unrefined"):
        return ""
    return (
        f"<br><span class='n small'>grid + {int(row['rounds'])} refinement round(s); the "
        f"config's grid alone: {html.escape(row['unrefined'])}</span>"
    )


def _row(row: pd.Series) -> str:
    colour = COLOURS.get(row["verdict"], "#6b6b6b")
    verdict = f"<span class='v' style='background:{colour}'>{html.escape(row['verdict'])}</span>"
    if row["rivals_agreeing"]:
        rivals = html.escape(row["rivals_agreeing"])
        verdict += f"<br><span class='small'>rival {rivals} agrees</span>"
    first = row.get("prediction_first", "")
    cells = [
        f"<b>{html.escape(row['experiment'])}</b><br>{html.escape(row['group'] or '')}",
        html.escape(claims.prediction_text(row)),
        f"<span class='n'>{html.escape(claims.interval_text(row, 90))}</span>"
        f"<br><span class='n small'>95 %: "
        f"{html.escape(claims.bounds_text(row, 95))}</span>"
        + _width_text(row)
        + _rounds_text(row),
        verdict,
        html.escape(claims.gates_text(row)),
        html.escape(row["identity"] or "none guards this claim"),
        html.escape(row["sensitivity"]),
        html.escape(row["exploratory"] or "—"),
        html.escape(f"{first} (prediction {str(row.get('design_commit', ''))[:10]}, runs "
                    f"{str(row.get('trained_commit', ''))[:10]})"),
    ]  # fmt: skip
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def page(table: pd.DataFrame, forest_svg: str, status: str) -> str:
    """The claims ``table`` as a self-contained page, the forest plot (``forest_svg``, SVG
    text) above it and ``status`` (confirmatory or exploratory, and why) in a banner."""
    header = [
        "claim",
        "predicted",
        "estimate [90 %]",
        "verdict",
        "rows fitted",
        "identity check",
        "gates halved / doubled",
        "exploratory statistics (no verdict)",
        "prediction committed before the runs?",
    ]
    rows = "".join(_row(row) for _, row in table.iterrows())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>claims</title>"
        f"<style>{STYLE}</style></head><body><h3>What theory predicted, what was measured, "
        f"and the verdicts</h3><div class='banner'>{html.escape(status)}</div>"
        "<p>Agrees: the 90 % interval lies inside prediction ± margin (equivalence, two "
        "one-sided tests at 5 %). Disagrees: the 95 % interval misses that band. Otherwise "
        "inconclusive. Estimate not valid: an identity that holds exactly on an infinite grid "
        "(decoupled with λ is decoupled_lr with λ/η0; plain SGD's l2 is decoupled_lr) was "
        "broken by more than its tolerance. Intervals: Student-t over the seeds' slopes.</p>"
        f"{forest_svg}<table><thead><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in header)
        + f"</tr></thead><tbody>{rows}</tbody></table></body></html>"
    )
