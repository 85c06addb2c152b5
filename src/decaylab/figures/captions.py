"""Each figure kind's caption in the report, in one place (the workflow's report shows what
``decaylab.figures.caption`` returns).

The templates are ``str.format`` strings (reStructuredText) of ``experiment``, ``n_seeds``,
``metric`` (the metric's words), ``x`` and ``y`` (the figure's axes) and ``select`` (the
validation metric the experiment selects by).
"""

from __future__ import annotations

CAPTIONS = {
    "fit": """**{experiment}: the data and the fitted models.** Training points filled, test
points hollow; one line per setting (first seed, diverged runs left out); the true curve black
and dotted where the data are synthetic. For linear and polynomial models the dashed lines are
closed-form references on the model's features: least squares (grey; for a degree-9 polynomial
on 10 points the interpolating over-fit) and, in the panels of coupled penalties, the ridge
solution ``w = (XcᵀXc + nλI)⁻¹Xcᵀyc`` (crimson) that gradient descent on ``½·MSE + λ/2·‖w‖²``
must reach.""",
    "learning_curves": """**{experiment}: learning curves.** The metric against epochs; the
line is the mean and the band ±1 standard deviation over its {n_seeds} seed(s) alone. Settings
not shown as colours or panels are not averaged: each line is the grid point with the best
validation loss among them, as its title says.""",
    "learning_rates": """**{experiment}: learning-rate schedules.** The rate η_t actually used
by the optimizer at the end of each epoch, for every schedule kind and decay rate. The
article's ``η0/sqrt(1+γ²t)`` is an inverse-square-root decay, not an exponential one.""",
    "heatmap": """**{experiment}: grid of settings.** The mean of {metric} over the {n_seeds}
seed(s) for each cell of ``{x}`` × ``{y}``. The red frame marks the setting the experiment
selected on ``{select}`` (never on test), dashed frames the settings not significantly
different from it (Welch's t-test over seeds, p ≥ 0.05); the title says when the selection
sits on the edge of the grid. Hatched grey cells had a diverged seed (no value is shown for
them). Where the experiment has an ``optimum`` figure and x is the strength, a white diamond
marks each row's sub-grid λ* and a white bar its collapse edge.""",
    "strength_curves": """**{experiment}: effect of the regularization strength λ.** Left:
test metric against λ (a U shape: too little regularization over-fits, too much under-fits).
Right: the weight norm, which every kind shrinks. Bands: ±1 standard deviation over seeds
alone; settings other than the kind and λ are chosen per point on validation (named in the
title). λ = 0 sits at the left edge (symmetric-log axis).""",
    "optimum": """**{experiment}: where the best strength moves.** At each value of ``{x}``,
λ* is the strength with the best mean of ``{select}`` over the {n_seeds} seeds, per group of
the other settings that vary (a colour each); hollow markers sit on the edge of the strengths
tried and are left out of the dashed least-squares line, whose slope the legend gives with its
95 % percentile bootstrap interval over seeds (``slopes.csv``); dotted: the predicted slope.""",
    "basins": """**{experiment}: each row's basin, and where refinement added points.** Per
panel a group of the other settings that vary, the mean of ``{select}`` over the {n_seeds}
seeds against λ, one colour per value of ``{x}``, the band ±1 standard deviation over seeds
alone (diverged runs left out). Circles are the config's grid; triangles, squares … the values
each refinement round added (``refine``), around the vertex or beyond the grid's edge; ▼ marks
the judged vertex λ* (``optima.csv``), hollow where a gate left its row out of the fit.""",
    "scatter": """**{experiment}: the sampled design.** Each point is one setting of the design
(Sobol points or sampled axes), coloured by the mean of {metric} over its {n_seeds} seed(s).
The red ring marks the setting selected on ``{select}`` (never on test), black rings the
settings not significantly different from it (Welch's t-test over seeds, p ≥ 0.05).""",
    "equilibrium": """**{experiment}: the weight norm's equilibrium.** Against η0·λ, one colour
per η0: the final norm of the trained kernels, the effective learning rate η0/‖w‖², and (where the
network is scale-invariant) the root mean square angle θ a kernel turns per step over the last
fifth of the constant-rate phase, with the parameter-free theory θ = √(2η0λ) dashed. At
equilibrium the last two panels' lines fall onto one line of slope ½. Filled markers are the runs
at equilibrium by the claim's own gates (cumulative decay D = Σ_t d_t and the norm's drift over
the window), the only runs its statistic uses; the dotted line marks where a constant rate
reaches the least D. The title of the tested panel is ``equilibrium.csv``'s. Lines: mean over the
{n_seeds} seeds; bands ±1 standard deviation over seeds alone.""",
}
"""The caption template of every figure kind."""


def caption_of(template: str, experiment: str, settings: dict, options: dict) -> str:
    """The caption ``template`` (one of :data:`CAPTIONS`) filled in for ``experiment``, whose
    config is ``settings`` (its ``seeds`` and ``select``), drawn with ``options`` (its
    ``metric``, ``x``, ``y``)."""
    seeds = settings.get("seeds", [0])
    metric = options.get("metric")
    return template.format(
        experiment=experiment,
        n_seeds=len(seeds) if isinstance(seeds, list) else 1,
        metric=f"``{metric}``" if metric else "the test metric (accuracy or MSE)",
        x=options.get("x", ""),
        y=options.get("y", ""),
        select=settings.get("select", ""),
    )
