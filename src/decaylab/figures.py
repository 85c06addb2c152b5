"""Seaborn figures of a study's tables. Each function returns a matplotlib ``Figure``."""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import patheffects
from matplotlib.colors import LogNorm, Normalize
from matplotlib.patches import Rectangle

from decaylab import claims, evaluate, models, tables
from decaylab.data import Dataset
from decaylab.optima import STATISTICS

KINDS = ["optimizer", "schedule", "regularization"]
AXES = ["learning_rate", "decay_rate", "strength", "momentum", "beta_1", "seed"]
LABELS = {
    "test_mse": "test MSE",
    "test_loss": "test loss",
    "test_accuracy": "test accuracy",
    "train_loss": "training loss (objective)",
    "weight_norm": "weight norm ‖w‖",
    "learning_rate": "learning rate η0",
    "scheduled_learning_rate": "learning rate η_t",
    "decay_rate": "decay rate",
    "strength": "strength λ",
    "train_size": "training rows N",
    "best_strength": "best strength λ*",
}
DIVERGED_COLOUR = "#bdbdbd"

sns.set_theme(context="notebook", style="whitegrid")


def draw(name: str, frames: dict[str, pd.DataFrame], train: Dataset, test: Dataset, **options):
    """The figure ``name`` (``fit``, ``learning_curves``, ``learning_rates``, ``heatmap``,
    ``strength_curves``, ``optimum``, ``equilibrium``, ``scatter``) of one experiment's
    tables."""
    drawers = {
        "fit": lambda: fit(frames["runs"], frames["curves"], train, test, **options),
        "learning_curves": lambda: learning_curves(frames["history"], frames["runs"], **options),
        "learning_rates": lambda: learning_rates(frames["history"]),
        "heatmap": lambda: heatmap(frames["summary"], optima=frames.get("optima"), **options),
        "strength_curves": lambda: strength_curves(frames["runs"]),
        "optimum": lambda: optimum(frames["optima"], frames["slopes"], **options),
        "equilibrium": lambda: equilibrium(frames["runs"]),
        "scatter": lambda: scatter(frames["summary"], **options),
    }
    if name not in drawers:
        raise ValueError(f"figure must be one of {sorted(drawers)}, got {name!r}")
    try:
        return drawers[name]()
    except NothingToDraw as reason:
        return message_figure(name, str(reason))


class NothingToDraw(Exception):
    """The tables hold nothing this figure can show (the reason is its message)."""


def message_figure(name: str, reason: str):
    """A figure that says what it cannot show, in place of an empty or broken one."""
    figure, ax = plt.subplots(figsize=(6.4, 2.4))
    ax.axis("off")
    ax.text(0.5, 0.6, f"{name}: nothing to draw", ha="center", fontsize=13, weight="bold")
    ax.text(0.5, 0.3, reason, ha="center", fontsize=10, wrap=True)
    return figure


def require(condition, reason: str) -> None:
    """Raise :class:`NothingToDraw` with ``reason`` unless ``condition``."""
    if not condition:
        raise NothingToDraw(reason)


def varying(frame: pd.DataFrame, columns) -> list[str]:
    """The columns of ``columns`` that take more than one value in ``frame``."""
    return [c for c in columns if c in frame and frame[c].nunique(dropna=True) > 1]


def label(column: str) -> str:
    return LABELS.get(column, column.replace("_", " "))


def fit(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    train: Dataset,
    test: Dataset,
    model=None,
    truth=None,
):
    """The data, the fitted lines or curves of the first seed, and references: the true curve
    ``truth(x)`` when known, and for linear and polynomial ``model``s the closed-form least-
    squares fit (for a degree-9 polynomial on 10 points, the interpolating over-fit) and ridge
    optima ``evaluate.ridge`` on the model's features."""
    first_seed = curves[curves["seed"] == curves["seed"].min()].copy()
    diverged = runs.loc[runs["diverged"], ["shard", "run"]]
    first_seed = first_seed.merge(diverged, how="left", indicator=True)
    first_seed = first_seed[first_seed["_merge"] == "left_only"].drop(columns="_merge")
    require(len(first_seed), "every run of the first seed diverged: there is no fit to draw")
    first_seed["line"] = first_seed["shard"] + "/" + first_seed["run"].astype(str)
    hue = next(
        iter(varying(first_seed, ["strength", "schedule", "learning_rate", "decay_rate"])), None
    )
    panels = varying(first_seed, ["regularization"]) if hue != "regularization" else []
    panel_values = sorted(first_seed[panels[0]].unique()) if panels else [None]
    figure, axes = plt.subplots(
        1,
        len(panel_values),
        figsize=(5.2 * len(panel_values), 5.4),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    low, high = np.percentile(np.concatenate([train.y.ravel(), test.y.ravel()]), [0, 100])
    margin = 0.25 * (high - low)
    for ax, value in zip(axes[0], panel_values, strict=True):
        subset = first_seed if value is None else first_seed[first_seed[panels[0]] == value]
        if hue is not None and subset[hue].isna().all():
            for _, line in subset.groupby("line"):
                ax.plot(line["x"], line["prediction"], color="C0", lw=1.5)
            ax.plot([], [], color="C0", label=f"{hue}: n/a")
            subset = subset.iloc[:0]
        palette = "viridis" if hue in ("strength", "learning_rate", "decay_rate") else "deep"
        sns.lineplot(
            data=subset,
            x="x",
            y="prediction",
            hue=hue,
            style="regularization"
            if not panels and "regularization" in varying(subset, ["regularization"])
            else None,
            units="line" if hue is None else None,
            estimator=None if hue is None else "mean",
            palette=palette if hue else None,
            hue_norm=LogNorm() if hue == "strength" and (subset[hue] > 0).all() else None,
            ax=ax,
            legend="full",
        )
        ax.scatter(train.x[:, 0], train.y.ravel(), s=18, color="black", label="train", zorder=3)
        ax.scatter(
            test.x[:, 0], test.y.ravel(), s=22, facecolors="none", edgecolors="black", label="test"
        )
        x_all = np.concatenate([train.x[:, 0], test.x[:, 0]])
        grid = np.linspace(x_all.min(), x_all.max(), 400)[:, None]
        spec = models.spec_of(model) if model is not None else None
        if spec is not None and spec.kind in ("linear", "polynomial"):
            coupled = runs["regularization"].isin(["l2", "decoupled_lr"])
            strengths = sorted(set(runs.loc[coupled, "strength"].dropna()) - {0.0})
            penalized = value is None or value in ("l2", "decoupled_lr")
            references = [0.0, *(strengths[:2] if penalized else [])]
            for strength, dashes in zip(references, ("--", "-.", ":"), strict=False):
                w, b = evaluate.ridge(models.features(spec, train.x), train.y, strength)
                ax.plot(
                    grid[:, 0],
                    models.features(spec, grid) @ w + b,
                    dashes,
                    lw=1.4,
                    color="crimson" if strength else "grey",
                    label=f"ridge optimum, λ = {strength:g}" if strength else "least squares",
                )
        if truth is not None:  # black, unlike any palette's fitted line
            ax.plot(
                grid[:, 0],
                truth(grid[:, 0]),
                color="black",
                lw=2.2,
                ls=(0, (1, 1)),
                label="true curve",
            )
        ax.set_ylim(low - margin, high + margin)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        if value is not None:
            ax.set_title(f"{panels[0]} = {value}")
        ax.legend(  # below the data, never over it; titled by what the colours are
            fontsize=7,
            title=f"fitted, first seed, by {label(hue)}" if hue else "fitted, first seed",
            title_fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14),
            ncol=3,
        )
    return figure


def seed_band(frame: pd.DataFrame, settings: list[str], by: str) -> tuple[str | None, str]:
    """Seaborn's ``errorbar`` for a band over seeds alone, and the caption's words for it and
    for the settings chosen per line (``tables.best_settings``)."""
    n_seeds = frame["seed"].nunique()
    band = f"band: ±1 s.d. over {n_seeds} seeds" if n_seeds > 1 else "one seed: no band"
    if settings:
        band += f"; per line, the best {', '.join(label(s) for s in settings)} by {label(by)}"
    return ("sd" if n_seeds > 1 else None), band


def learning_curves(
    history: pd.DataFrame, runs: pd.DataFrame, hue: str | None = None, metric: str | None = None
):
    """A metric against epochs, one line per value of ``hue`` (and panel per kind): the mean
    over seeds, with a band of ±1 s.d. over seeds alone; any other setting is not averaged but
    chosen per line, on validation (``tables.best_settings``), and named in the title."""
    metric = metric or ("test_loss" if history["test_loss"].notna().any() else "train_loss")
    hue = hue or next(iter(varying(history, KINDS + AXES)), None)
    col = next(iter(c for c in varying(history, KINDS) if c != hue), None)
    require(
        metric in history and history[metric].notna().any(),
        f"{label(metric)} is not measured in this experiment (NaN for its task)",
    )
    chosen, settings, by = tables.best_settings(runs, [c for c in ("experiment", hue, col) if c])
    frame = history.merge(chosen[["shard", "run"]], on=["shard", "run"])
    frame = frame[np.isfinite(frame[metric])]
    require(len(frame), f"no finite {label(metric)} was recorded (every run diverged?)")
    errorbar, band = seed_band(frame, settings, by)
    grid = sns.relplot(
        data=frame,
        x="epoch",
        y=metric,
        hue=hue,
        col=col,
        kind="line",
        errorbar=errorbar,
        palette="viridis" if hue in AXES else "deep",
        height=3.6,
        aspect=1.25,
        facet_kws={"sharey": True},
    )
    grid.set(yscale="log")
    grid.set_axis_labels("epoch", label(metric))
    lines = [c for c in (hue, col) if c]
    values = [
        ", ".join(str(row[c]) for c in lines)
        + ": "
        + ", ".join(f"{label(s).split()[-1]} {row[s]:g}" for s in settings if pd.notna(row[s]))
        for _, row in chosen.drop_duplicates(lines + settings).iterrows()
    ]
    chosen_values = f"\n{'; '.join(values)}" if settings and lines else ""
    grid.figure.suptitle(
        f"{label(metric)} during training\n({band}){chosen_values}", y=1.1, fontsize=10
    )
    return grid.figure


def learning_rates(history: pd.DataFrame):
    """The learning rate of every schedule and decay rate against epochs (first seed)."""
    frame = history[history["seed"] == history["seed"].min()]
    frame = frame.assign(line=frame["shard"] + "/" + frame["run"].astype(str))
    style = "decay_rate" if "decay_rate" in varying(frame, ["decay_rate"]) else None
    figure, ax = plt.subplots(figsize=(6.4, 4.2))
    sns.lineplot(
        data=frame.fillna({"decay_rate": 0.0}) if style else frame,
        x="epoch",
        y="scheduled_learning_rate",
        hue="schedule",
        style=style,
        estimator=None,
        units="line",
        ax=ax,
    )
    ax.set_yscale("log")
    top = frame["scheduled_learning_rate"].max()
    ax.set_ylim(max(frame["scheduled_learning_rate"].min(), top * 1e-4) / 1.5, top * 1.5)
    ax.set_ylabel(label("scheduled_learning_rate") + " (clipped at 10⁻⁴·max)")
    ax.set_title("learning-rate schedules")
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    return figure


def _tick(value) -> str:
    return "—" if pd.isna(value) else f"{value:g}"


def heatmap(
    summary: pd.DataFrame,
    x: str,
    y: str,
    metric: str | None = None,
    optima: pd.DataFrame | None = None,
):
    """A grid of heatmaps of a metric's mean over seeds, one per combination of kinds.

    Cells show the value. With ``optima`` (``decaylab.optima``; x the strength), each row also
    marks its sub-grid λ* (white diamond) and its collapse edge (white bar), placed in log λ
    between the cells' centres; a row whose least-regularized runs did not converge is
    labelled so. The setting the experiment selected (on its validation metric, in
    the summary's ``selected``) has a red frame; those not significantly different from it
    (``indistinguishable``) a dashed black one; grid points with a diverged seed are hatched grey
    and show no value. An axis that a kind does not use (``decay_rate`` of a constant schedule)
    shows as "—".
    """
    has_accuracy = "test_accuracy_mean" in summary and summary["test_accuracy_mean"].notna().any()
    primary = metric or ("test_accuracy" if has_accuracy else "test_mse")
    column = f"{primary}_mean"
    for name in (x, y, column):
        require(name in summary, f"{name!r} is not a setting or metric of this experiment")
    higher_is_better = primary in tables.HIGHER_IS_BETTER
    facets = varying(summary, KINDS)
    n_x, n_y = summary[x].nunique(dropna=False), summary[y].nunique(dropna=False)
    stacked = len(facets) >= 2 or (len(facets) == 1 and n_x > 8)  # wide grids: one per row
    row_key = facets[0] if stacked else None
    col_keys = facets[1:] if stacked else facets
    rows = list(dict.fromkeys(summary[row_key])) if row_key else [None]
    col_values = (
        summary[col_keys].astype(str).agg(" · ".join, axis=1)
        if col_keys
        else pd.Series("", index=summary.index)
    )
    cols = list(dict.fromkeys(col_values))
    finite = summary.loc[np.isfinite(summary[column]), column].to_numpy(dtype=float)
    low, high = (finite.min(), finite.max()) if len(finite) else (0.0, 1.0)
    if not higher_is_better and low > 0 and high > low:
        norm = LogNorm(low, high)
    elif high > low:
        norm = Normalize(low, high)
    else:  # one value (every accuracy 1): a scale just below it, never above 1
        norm = Normalize(high - 0.01, high) if higher_is_better else Normalize(low, low + 0.01)
    cmap = "viridis" if higher_is_better else "viridis_r"
    selected = summary.index[summary["selected"]] if "selected" in summary else []
    close = (
        summary.index[summary["indistinguishable"].fillna(False).astype(bool)]
        if ("indistinguishable" in summary)
        else []
    )
    figure, axes = plt.subplots(
        len(rows),
        len(cols),
        figsize=(2.0 + 0.85 * n_x * len(cols), 1.6 + 0.6 * n_y * len(rows)),
        squeeze=False,
        layout="constrained",
    )
    edges = []
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            ax = axes[i, j]
            mask = col_values == col
            if row_key:
                mask &= summary[row_key] == row
            panel = summary[mask].assign(
                _x=summary[x].map(_tick), _y=summary[y].map(_tick), _order_y=summary[y].fillna(-1)
            )
            y_order = list(dict.fromkeys(panel.sort_values("_order_y", ascending=False)["_y"]))
            x_order = list(dict.fromkeys(panel.sort_values(x)["_x"]))
            table = panel.pivot_table(index="_y", columns="_x", values=column, dropna=False)
            table = table.reindex(index=y_order, columns=x_order)
            diverged = panel.pivot_table(index="_y", columns="_x", values="diverged", aggfunc="max")
            diverged = diverged.reindex(index=y_order, columns=x_order).fillna(False)
            sns.heatmap(
                table,
                ax=ax,
                cmap=cmap,
                norm=norm,
                annot=True,
                fmt=".3g",
                annot_kws={"fontsize": 7},
                cbar=False,
                linewidths=0.5,
                linecolor="white",
            )
            for (r, c), is_diverged in np.ndenumerate(diverged.to_numpy(dtype=bool)):
                if is_diverged:
                    ax.add_patch(
                        Rectangle(
                            (c, r), 1, 1, facecolor=DIVERGED_COLOUR, hatch="xx", edgecolor="dimgrey"
                        )
                    )
                    ax.text(c + 0.5, r + 0.5, "diverged", ha="center", va="center", fontsize=6)
            for index in panel.index.intersection(close):  # inset, so neighbours stay apart
                r, c = y_order.index(panel.loc[index, "_y"]), x_order.index(panel.loc[index, "_x"])
                ax.add_patch(
                    Rectangle(
                        (c + 0.1, r + 0.1), 0.8, 0.8, fill=False, edgecolor="black", lw=1.2, ls="--"
                    )
                )
            for index in panel.index.intersection(selected):
                r, c = y_order.index(panel.loc[index, "_y"]), x_order.index(panel.loc[index, "_x"])
                ax.add_patch(Rectangle((c, r), 1, 1, fill=False, edgecolor="red", lw=3.5))
                ends = ((x, "_x", c, x_order, True), (y, "_y", r, y_order, False))
                for axis, tick, place, order, ascending in ends:  # rows run from the top down
                    if len(order) > 1 and place in (0, len(order) - 1):
                        end = "smallest" if (place == 0) == ascending else "largest"
                        edges.append(f"{label(axis)} {panel.loc[index, tick]} is the {end} tried")
            if optima is not None and x == "strength" and y in optima:
                _mark_basin(ax, panel, optima, y, y_order, x_order, (row, col), row_key, col_keys)
            ax.tick_params(axis="both", labelsize=8, rotation=0)
            ax.set_xlabel(label(x) if i == len(rows) - 1 else "")
            ax.set_ylabel(label(y) if j == 0 else "")
            averaged = [a for a in varying(panel, AXES) if a not in (x, y, "seed")]
            title = " · ".join(str(v) for v in (row, col) if v)
            if averaged:
                title += f"\n(mean over {', '.join(averaged)})"
            ax.set_title(title, fontsize=9)
    colour_label = f"{label(primary)}\n({'higher' if higher_is_better else 'lower'} is better)"
    figure.colorbar(  # the label on two lines: it fits beside a heatmap of two rows
        plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=colour_label, shrink=0.9
    )
    n_seeds = int(summary["n_seeds"].max())
    if len(selected):
        chosen_by = summary["selected_by"].iloc[0]
        frames = (
            f"red frame: selected by mean {label(chosen_by)}; dashed: not significantly "
            f"different from it (Welch's t-test over seeds, p ≥ {tables.SIGNIFICANCE})"
        )
    else:
        frames = "no selection (the experiment selects nothing)"
    edge = (
        f"\nselected on the grid's edge ({'; '.join(dict.fromkeys(edges))}): extend that axis"
        if edges
        else ""
    )
    if optima is not None and x == "strength":
        edge += (
            "\nwhite ◆: sub-grid λ* (parabola); white |: collapse edge; "
            "'(not converged)': left out of the slopes"
        )
    figure.suptitle(
        f"mean {label(primary)} over {n_seeds} seed(s); hatched: a seed diverged\n{frames}{edge}",
        fontsize=9,
    )
    return figure


def _mark_basin(ax, panel, optima, y, y_order, x_order, facet, row_key, col_keys):
    """Per heatmap row, the sub-grid λ* and the collapse edge of ``optima``, placed at their
    position in log λ between the centres of the cells (whose ticks are ``x_order``)."""
    mine = optima
    values = dict(zip([row_key] if row_key else [], [facet[0]], strict=False))
    for key, value in zip(col_keys, str(facet[1]).split(" · "), strict=False):
        values[key] = value
    for key, value in values.items():
        if key in mine:
            mine = mine[mine[key].astype(str) == str(value)]
    strengths = np.array(sorted(panel["strength"].dropna().unique()), dtype=float)
    if len(strengths) < 2 or (strengths <= 0).any():
        return
    logs = np.log(strengths)
    for _, row in mine.iterrows():
        tick = _tick(row[y])
        if tick not in y_order:
            continue
        r = y_order.index(tick) + 0.5
        for name, style in (
            ("parabola", {"marker": "D", "color": "white", "markeredgecolor": "black"}),
            (
                "edge",
                {
                    "marker": "|",
                    "color": "white",
                    "markersize": 16,
                    "mew": 2.5,
                    "path_effects": [patheffects.withStroke(linewidth=4.5, foreground="black")],
                },
            ),
        ):
            value = row.get(name)
            if pd.notna(value) and value > 0 and not row.get(f"{name}_flagged", False):
                c = np.interp(np.log(value), logs, np.arange(len(logs)) + 0.5)
                ax.plot(c, r, **style)
        if not row.get("converged", True):
            ax.text(0.05, r + 0.42, "(not converged)", fontsize=6, color="white", va="bottom")


def strength_curves(runs: pd.DataFrame):
    """Test metric and weight norm against the strength λ, per regularization kind.

    Runs without regularization (``none``) appear as a dashed horizontal reference.
    """
    metric = tables.reported_metric(runs)
    require("strength" in runs, "the experiment has no regularization strength")
    style = next(iter(varying(runs, ["optimizer", "schedule"])), None)
    keep = [c for c in ("experiment", "regularization", "strength", style) if c]
    chosen, settings, by = tables.best_settings(runs, keep)
    sane = chosen[~chosen["diverged"]]
    frame = sane[sane["strength"].notna() & np.isfinite(sane[metric])]
    require(len(frame), "every regularized run diverged: no test metric to draw against λ")
    unregularized = sane[sane["regularization"] == "none"]
    errorbar, band = seed_band(frame, settings, by)
    figure, axes = plt.subplots(1, 2, figsize=(10.5, 4.0), layout="constrained")
    for ax, column in zip(axes, (metric, "weight_norm"), strict=True):
        sns.lineplot(
            data=frame,
            x="strength",
            y=column,
            hue="regularization",
            style=style,
            marker="o",
            errorbar=errorbar,
            ax=ax,
        )
        if len(unregularized):
            ax.axhline(
                unregularized[column].mean(), ls="--", color="black", lw=1, label="none (λ = 0)"
            )
            ax.legend(fontsize=8)
        positive = frame.loc[frame["strength"] > 0, "strength"]
        if len(positive) and (frame["strength"] == 0).any():
            ax.set_xscale("symlog", linthresh=positive.min())
            ax.set_xlim(left=0)
        elif len(positive):
            ax.set_xscale("log")
        ax.set_xlabel(label("strength"))
        ax.set_ylabel(label(column))
        if column != "test_accuracy":
            ax.set_yscale("log")
    axes[0].set_title(f"{label(metric)} against λ", fontsize=10)
    axes[1].set_title("weight norm against λ", fontsize=10)
    figure.suptitle(f"({band})", fontsize=9)
    return figure


def optimum(optima: pd.DataFrame, slopes: pd.DataFrame, x: str, expect: dict | None = None):
    """Each statistic of λ*'s basin (``decaylab.optima.STATISTICS``, one panel each) against
    ``x`` on log-log axes, one colour per group of runs, with the least-squares line whose slope
    the legend gives with its bootstrap interval over seeds. Hollow markers: on or beyond the
    grid's edge (left out of the line); grey: a value of x whose least-regularized runs did not
    converge (left out). Dotted: the slopes ``expect`` predicts, through the fitted points.
    Where the grid was written as a timescale, a second row shows each statistic as τ in
    epochs, the quantity the prediction is about (constant: dotted)."""
    require(
        (optima["argmin"] > 0).any(),
        "no positive λ* to draw (every best strength is 0, or every run diverged)",
    )
    groups = [c for c in slopes if c in optima and c not in (x, "x", "statistic")]
    names = list(STATISTICS)
    units = ["", "_timescale"] if f"{names[0]}_timescale" in optima else [""]
    figure, axes = plt.subplots(
        len(units),
        len(names),
        figsize=(4.3 * len(names), 4.6 * len(units)),
        sharex=True,
        sharey="row",
        squeeze=False,
        layout="constrained",
    )
    keys = slopes.drop_duplicates(groups)[groups] if groups else pd.DataFrame(index=[0])
    palette = dict(zip(keys.index, sns.color_palette(n_colors=max(len(keys), 1)), strict=False))
    predicted = {group: value for group, value, _ in claims.predictions(expect)} if expect else {}
    by = expect[claims.kind(expect)].get("by") if expect else None
    for (unit, name), ax in zip(itertools.product(units, names), axes.flat, strict=True):
        for index, key in keys.iterrows():
            mine, rows = optima, slopes[slopes["statistic"] == name]
            for column in groups:
                mine, rows = mine[mine[column] == key[column]], rows[rows[column] == key[column]]
            row = rows.iloc[0]
            colour = palette[index]
            value = mine[name + unit].to_numpy(float)
            shown = np.isfinite(value) & (value > 0)
            flagged = mine[f"{name}_flagged"].to_numpy(bool)
            trained = mine["converged"].to_numpy(bool)
            xs = mine[x].to_numpy(float)
            ax.plot(xs[shown], value[shown], color=colour, lw=0.8, alpha=0.4)
            for where, style in (
                (shown & trained & ~flagged, {"color": colour}),
                (shown & trained & flagged, {"facecolors": "white", "edgecolors": colour}),
                (shown & ~trained, {"color": DIVERGED_COLOUR}),
            ):
                ax.scatter(xs[where], value[where], zorder=3, **style)
            fitted = shown & trained & ~flagged
            group = ", ".join(str(key[c]) for c in groups) or "all runs"
            if fitted.sum() >= 2:
                logs, logv = np.log(xs[fitted]), np.log(value[fitted])
                span = np.linspace(logs.min(), logs.max(), 20)
                group_of = str(key[by]) if by in groups else None
                only = next(iter(predicted.values())) if len(predicted) == 1 else None
                guess = 0.0 if unit else predicted.get(group_of, only)
                if pd.notna(row["slope"]) and not unit:
                    line = np.mean(logv - row["slope"] * logs) + row["slope"] * span
                    ax.plot(np.exp(span), np.exp(line), ls="--", color=colour)
                if guess is not None:
                    centre = np.mean(logv - guess * logs) + guess * span
                    ax.plot(np.exp(span), np.exp(centre), ls=":", lw=2, color=colour, alpha=0.7)
            interval = (
                f" [{row['ci95_low']:+.2f}, {row['ci95_high']:+.2f}]"
                if pd.notna(row["ci95_low"])
                else (" (one seed)" if row["n_seeds"] < 2 else "")
            )
            slope = f"{row['slope']:+.2f}{interval}" if pd.notna(row["slope"]) else "no fit"
            ax.plot([], [], color=colour, marker="o", ls="--", label=f"{group}: {slope}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = np.sort(optima[x].unique())
        ax.set_xticks(ticks, labels=[_tick(t) for t in ticks], fontsize=8)
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_xlabel(label(x))
        if unit:
            ax.set_title("… as the timescale τ = 1/(η·λ·M)", fontsize=9)
        else:
            ax.set_title(STATISTICS[name], fontsize=9)
            ax.legend(fontsize=7, title="slope of log λ [95 % CI]", title_fontsize=7, loc="best")
    axes[0, 0].set_ylabel("λ (per statistic)")
    if len(units) > 1:
        axes[1, 0].set_ylabel("τ in epochs (per statistic)")
    seeds = int(slopes["n_seeds"].max())
    distinct = math.comb(2 * seeds - 1, seeds)
    figure.suptitle(
        f"Where λ* lies, chosen on {label(slopes['selected_by'].iloc[0])} (mean over {seeds} "
        f"seeds); dashed: the fitted slope, dotted: the predicted one. Hollow: on or beyond the "
        f"grid's edge; grey: not converged (both left out of the fit). {seeds} seeds allow "
        f"{distinct} distinct bootstrap draws, so an arg-min's interval may end on its estimate.",
        fontsize=8,
        wrap=True,
    )
    return figure


def equilibrium(runs: pd.DataFrame):
    """The final weight norm ‖w‖ of the trained kernels against η·λ (left), and the effective
    learning rate η/‖w‖² against η·λ (right), one colour per η0, mean and ±1 s.d. over seeds.

    For a scale-invariant network under SGD with an L2 penalty, the norm settles where decay and
    gradient growth balance: ‖w‖⁴ ≈ η·‖g̃‖²/(2λ) (van Laarhoven, 2017; Wan et al., 2021, with g̃
    the gradient at unit norm), so η/‖w‖² ≈ √(2ηλ)/‖g̃‖ depends on η·λ alone: the right panel's
    lines fall onto one line of slope ½ — once η·λ·T ≫ 1 over the T updates (the norm relaxes
    at a rate of order η·λ per update), marked by a dotted line. The title gives the
    least-squares slope of log(η/‖w‖²) on log(η·λ) over every run.
    """
    sane = runs[~runs["diverged"].astype(bool) & (runs["strength"] > 0)]
    require(len(sane), "no run with a positive strength, or every such run diverged")
    frame = sane.assign(
        lr_times_strength=sane["learning_rate"] * sane["strength"],
        effective_learning_rate=sane["learning_rate"] / sane["weight_norm"] ** 2,
    )
    slope = np.polyfit(
        np.log(frame["lr_times_strength"]), np.log(frame["effective_learning_rate"]), 1
    )[0]
    errorbar, band = seed_band(frame, [], "validation_loss")
    updates = (frame["epochs"] * frame["updates_per_epoch"]).max()
    figure, axes = plt.subplots(1, 2, figsize=(10.5, 4.2), layout="constrained")
    for ax, column, name in (
        (axes[0], "weight_norm", "weight norm ‖w‖ at the end"),
        (axes[1], "effective_learning_rate", "effective learning rate η/‖w‖²"),
    ):
        sns.lineplot(
            data=frame,
            x="lr_times_strength",
            y=column,
            hue="learning_rate",
            palette="viridis",
            hue_norm=LogNorm(),
            marker="o",
            errorbar=errorbar,
            ax=ax,
        )
        ax.axvline(1 / updates, ls=":", color="grey")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"η0·λ (dotted: η0·λ·T = 1 for the T = {updates} updates)")
        ax.set_ylabel(name)
        ax.legend(title=label("learning_rate"), fontsize=8)
    axes[0].set_title("the norm depends on η and λ apart (‖w‖ ∝ (η/λ)^¼ in theory)", fontsize=9)
    axes[1].set_title(
        f"… the effective rate on η·λ alone: slope {slope:.2f} (theory ½)", fontsize=9
    )
    figure.suptitle(f"({band})", fontsize=9)
    return figure


def scatter(summary: pd.DataFrame, x: str, y: str, metric: str | None = None):
    """The sampled points of a design (a Sobol design or sampled axes, where a heatmap would be
    mostly empty) in the (x, y) plane, coloured by a metric's mean over seeds, one panel per
    combination of kinds. The selected point has a red ring, the points not significantly
    different from it a black one (as the heatmap's frames). Axes spanning more than a decade
    of positive values are logarithmic."""
    has_accuracy = "test_accuracy_mean" in summary and summary["test_accuracy_mean"].notna().any()
    primary = metric or ("test_accuracy" if has_accuracy else "test_mse")
    column = f"{primary}_mean"
    for name in (x, y, column):
        require(name in summary, f"{name!r} is not a setting or metric of this experiment")
    frame = summary[np.isfinite(summary[column])]
    require(len(frame), "every point diverged: nothing to colour")
    facets = varying(summary, KINDS)
    panels = list(frame.groupby(facets, sort=False)) if facets else [((), frame)]
    figure, axes = plt.subplots(
        1, len(panels), figsize=(1.5 + 4.2 * len(panels), 4.2), squeeze=False, layout="constrained"
    )
    higher = primary in tables.HIGHER_IS_BETTER
    values = frame[column].to_numpy(float)
    norm = (
        LogNorm(values.min(), values.max())
        if not higher and values.min() > 0
        else Normalize(values.min(), values.max())
    )
    cmap = "viridis" if higher else "viridis_r"
    for ax, (key, panel) in zip(axes[0], panels, strict=True):
        points = ax.scatter(panel[x], panel[y], c=panel[column], cmap=cmap, norm=norm, s=60)
        close = panel[
            panel.get("indistinguishable", pd.Series(False, index=panel.index))
            .fillna(False)
            .astype(bool)
        ]
        ax.scatter(close[x], close[y], s=160, facecolors="none", edgecolors="black", lw=1)
        if "selected" in panel:
            chosen = panel[panel["selected"].astype(bool)]
            ax.scatter(chosen[x], chosen[y], s=220, facecolors="none", edgecolors="red", lw=2)
        for name, setter in ((x, ax.set_xscale), (y, ax.set_yscale)):
            positive = summary[name][summary[name] > 0]
            if len(positive) == len(summary) and positive.max() > 10 * positive.min():
                setter("log")
        ax.set_xlabel(label(x))
        ax.set_ylabel(label(y))
        key = key if isinstance(key, tuple) else (key,)
        ax.set_title(" · ".join(map(str, key)), fontsize=10)
    figure.colorbar(points, ax=axes[0].tolist(), label=f"mean {label(primary)} over seeds")
    figure.suptitle(
        f"{len(frame)} sampled points; red ring: selected on validation; black rings: not "
        "significantly different (Welch's t-test over seeds, p ≥ 0.05)",
        fontsize=9,
    )
    return figure
