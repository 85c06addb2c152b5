"""An experiment's figures and predictions (``expect``) against its task, model and axes (no
backend): the cross-key rules of ``figures`` and ``expect`` that :func:`decaylab.checks.problems`
runs once the experiment's data set and runs are known.
"""

from __future__ import annotations

from decaylab import data, grid, registry
from decaylab import expect as expect_block
from decaylab.data_facts import DataFacts

FIGURE_METRICS = {  # what each figure can draw, per task: run metrics, history columns
    "heatmap": {
        "regression": (
            "validation_mse",
            "validation_loss",
            "test_mse",
            "test_loss",
            "train_loss",
            "weight_norm",
        ),
        "classification": (
            "validation_accuracy",
            "validation_loss",
            "test_accuracy",
            "test_loss",
            "train_loss",
            "weight_norm",
        ),
    },
    "learning_curves": {
        "regression": (
            "validation_loss",
            "test_loss",
            "train_loss",
            "weight_norm",
            "scheduled_learning_rate",
        ),
        "classification": (
            "validation_loss",
            "validation_accuracy",
            "test_accuracy",
            "test_loss",
            "train_loss",
            "weight_norm",
            "scheduled_learning_rate",
        ),
    },
}
KINDS = {"optimizer", "schedule", "regularization", "seed"}
"""The settings every run has (its kinds and its seed), on top of the ones its grid varies."""


def problems(key, experiment, dataset: DataFacts, regularizations, shards) -> list[str]:
    """Figure options and predictions of the experiment ``key`` that do not fit its task (of
    ``dataset``), its regularization kinds or the settings of its runs (in ``shards``)."""
    axes = KINDS | ({"train_size"} if "train_size" in experiment else set())
    axes |= {"epochs"} if isinstance(experiment["epochs"], list) else set()
    axes |= {name for shard in shards for run in shard.runs for name in run}
    figures = experiment.get("figures", {})
    found = _fit_problems(key, experiment, dataset)
    if not registry.strength_readers(regularizations):
        found += [
            f"{key}.figures.{figure}: needs a regularization kind with a strength; "
            f"the experiment has {regularizations}"
            for figure in ("strength_curves", "equilibrium")
            if figures.get(figure)
        ]
    found += _optimum_problems(key, experiment, regularizations, axes)
    found += _expect_problems(key, experiment, regularizations, axes, shards)
    for figure in ("heatmap", "learning_curves", "scatter"):
        options = figures.get(figure) or {}
        if isinstance(options, dict):
            found += _axis_figure_problems(f"{key}.figures.{figure}", options, dataset.task, axes)
    return found


def _fit_problems(key, experiment, dataset: DataFacts) -> list[str]:
    """The fit figure draws a 1-d regression only."""
    if experiment.get("figures", {}).get("fit") and (
        dataset.task != data.REGRESSION or dataset.n_features != 1
    ):
        return [
            f"{key}.figures.fit: draws 1-d regression only; dataset {experiment['dataset']} is "
            f"{dataset.task} with {dataset.n_features} features"
        ]
    return []


def _optimum_problems(key, experiment, regularizations, axes) -> list[str]:
    """The optimum figure: its x a numeric setting other than λ, λ* chosen on validation, and a
    kind with a strength; the basins figure draws its vertices, at its x."""
    optimum = experiment.get("figures", {}).get("optimum")
    if not optimum:
        wanted = experiment.get("figures", {}).get("basins")
        return [f"{key}.figures.basins: draws the optimum figure's vertices; add figures: "
                f"{{optimum: {{x: {wanted['x']}}}}}"] if wanted else []  # fmt: skip
    found = []
    numeric = axes - KINDS - {"strength", *registry.DERIVED_STRENGTHS}
    if optimum["x"] not in numeric:
        found.append(
            f"{key}.figures.optimum.x: {optimum['x']!r} is not a numeric setting of the "
            f"experiment other than λ; allowed: {sorted(numeric)}"
        )
    if experiment.get("select", "validation_loss") == "none":
        found.append(f"{key}.figures.optimum: λ* is chosen on validation; select is none")
    if not registry.strength_readers(regularizations):
        found.append(f"{key}.figures.optimum: needs a regularization kind with a strength")
    basins = experiment.get("figures", {}).get("basins")
    if basins and basins["x"] != optimum["x"]:
        found.append(f"{key}.figures.basins.x: its vertices are the optimum figure's; give it "
                     f"the same x ({optimum['x']!r}), got {basins['x']!r}")  # fmt: skip
    return found


def _axis_figure_problems(where, options, task, axes) -> list[str]:
    """A heatmap's, scatter's or learning curves' x, y and hue: settings of the experiment
    (seeds are averaged in heatmaps and scatters); its metric: one of the task's."""
    figure = where.rsplit(".", 1)[-1]
    allowed_axes = axes if figure == "learning_curves" else axes - {"seed"}
    found = [
        f"{where}.{option}: {options[option]!r} is not a setting of the experiment; "
        f"allowed: {sorted(allowed_axes)}"
        for option in ("x", "y", "hue")
        if option in options and options[option] not in allowed_axes
    ]
    allowed = FIGURE_METRICS["heatmap" if figure == "scatter" else figure][task]
    if "metric" in options and options["metric"] not in allowed:
        found.append(
            f"{where}.metric: {options['metric']!r} is not a metric of a {task} experiment; "
            f"allowed: {list(allowed)}"
        )
    return found


def _expect_problems(key, experiment, regularizations, axes, shards) -> list[str]:
    """A prediction: an equilibrium needs a strength; a slope, the optimum figure's x and (per
    group) groups of its ``by``."""
    expect = experiment.get("expect", {})
    if "equilibrium" in expect and not registry.strength_readers(regularizations):
        return [f"{key}.expect.equilibrium: needs a regularization kind with a strength"]
    if "equilibrium" in expect:
        found = _equilibrium_problems(f"{key}.expect.equilibrium", expect["equilibrium"],
                                      experiment)  # fmt: skip
        if found:
            return found
    bands = band_problems(f"{key}.expect", expect) if expect else []
    slope = expect.get("slope")
    if not slope:
        return bands
    where = f"{key}.expect.slope"
    optimum = experiment.get("figures", {}).get("optimum")
    found = []
    if not optimum or optimum.get("x") != slope["x"]:
        found.append(
            f"{where}.x: the claims test the slopes of the optimum figure; add "
            f"figures: {{optimum: {{x: {slope['x']}}}}} (its x now: "
            f"{optimum.get('x') if optimum else 'no optimum figure'})"
        )
    return bands + found + _slope_group_problems(where, slope, axes, shards)


def _equilibrium_problems(where: str, claim: dict, experiment: dict) -> list[str]:
    """``angular_update`` is judged by quantity on a scale-invariant network (the only one whose
    angle the engine records); ``effective_rate`` has one value; a drift gate needs a schedule
    with a constant-rate phase (``constant`` or ``wsd``), where its window lies."""
    found = []
    if claim["statistic"] == "angular_update":
        if "values" not in claim:
            found.append(f"{where}: angular_update is judged by quantity; give by: quantity and "
                         "values: {slope: 0.5, constant: 0}")  # fmt: skip
        model = experiment.get("model")
        model = model if isinstance(model, dict) else {}
        normalized = model.get("normalization", "none") != "none"
        if not (normalized and model.get("affine") is False and model.get("fixed_head") is True):
            found.append(f"{where}: angular_update needs a scale-invariant model (normalization, "
                         "affine: false, fixed_head: true)")  # fmt: skip
    elif "value" not in claim:
        found.append(f"{where}: effective_rate is one slope; give value, not by and values")
    kinds = grid.as_list(experiment.get("schedule", {}).get("kind", "constant"))
    phased = {"constant", "wsd"}
    if "drift" in claim.get("gates", {}) and not set(kinds) <= phased:
        found.append(f"{where}.gates.drift: the drift is measured over the last fifth of a "
                     f"constant-rate phase; schedule.kind {kinds} has none (allowed: "
                     f"{sorted(phased)})")  # fmt: skip
    return found


def _slope_group_problems(where, slope, axes, shards) -> list[str]:
    """Without ``by``, one value and a list of rivals; with it, values (and rivals) per group,
    each group a value the setting ``by`` takes in the runs."""
    by = slope.get("by")
    if by is None:
        if "value" not in slope or "values" in slope or isinstance(slope.get("rivals"), dict):
            return [f"{where}: without by, give one value and a list of rivals"]
        return []
    if "values" not in slope or "value" in slope:
        return [f"{where}: with by: {by}, give values per group ({{group: slope}})"]
    found = _identity_problems(where, slope)
    if by not in axes:
        found.append(
            f"{where}.by: {by!r} is not a setting of the experiment; allowed: {sorted(axes)}"
        )
    rivals = slope.get("rivals", {})
    if not isinstance(rivals, dict):
        found.append(f"{where}.rivals: with by, give the rivals per group ({{group: [...]}})")
        rivals = {}
    groups = {str(g) for g in _groups_of(shards, by)} if by in axes else set()
    found += [
        f"{where}: {name!r} is not a {by} of the experiment; allowed: {sorted(groups)}"
        for name in (*slope["values"], *rivals, *_identity_groups(slope))
        if groups and name not in groups
    ]
    return found


def _identity_groups(slope) -> list[str]:
    """The groups the identities of ``slope`` compare."""
    return [check[side] for check in slope.get("identities", []) for side in ("group", "minus")]


def _identity_problems(where, slope) -> list[str]:
    """Each identity guards claims there are, and compares two different groups."""
    found = []
    for i, check in enumerate(slope.get("identities", [])):
        unknown = [g for g in check["guards"] if g not in slope["values"]]
        if unknown:
            found.append(
                f"{where}.identities[{i}].guards: {unknown} are not claims; allowed: "
                f"{sorted(slope['values'])}"
            )
        if check["group"] == check["minus"]:
            found.append(f"{where}.identities[{i}]: group and minus are both {check['group']!r}")
    return found


def band_problems(where: str, expect: dict) -> list[str]:
    """A prediction whose band ``± margin`` overlaps a rival's could agree with both: refused."""
    margin = float(expect[expect_block.kind(expect)].get("margin", expect_block.MARGIN))
    found = []
    for group, prediction, rivals in expect_block.predictions(expect):
        close = expect_block.overlapping_rivals(prediction, rivals, margin)
        if close:
            found.append(
                f"{where}: the band {prediction:g} ± {margin:g}{f' of {group}' if group else ''} "
                f"overlaps the rival(s) {close} ± {margin:g}; rivals must lie at least two "
                f"margins ({2 * margin:g}) away, or give a smaller margin"
            )
    return found


def _groups_of(shards, by) -> list:
    """The values the setting ``by`` takes in the runs of ``shards``."""
    return sorted({run.get(by) for shard in shards for run in shard.runs} - {None}, key=str)
