"""Every component of decaylab, declared once with its hyper-parameters (no backend, no Keras).

A *hyper-parameter* is a number that can differ between the runs of a shard (a grid axis): its
name, default and allowed range are declared here once. A *component* (a schedule, an optimizer,
a regularization, a model, a data generator) names the hyper-parameters it reads, the
shard-wide options it takes, and where its range differs from the general one.

Everything else is derived from these tables or tested against them: the engine's validation
and defaults (``shard.resolve_runs``), the grid's axes (``grid``), the tables' setting columns
(``tables.SETTINGS``), and — through ``tests/test_registry.py`` — the config schema's enums and
ranges, the implementations (``schedules.SCHEDULES``, ``transforms.OPTIMIZERS``) and the config
reference ``config/README.md``.

Adding a schedule: write its function in ``schedules.py`` (its formula in the docstring), declare
it in ``SCHEDULES`` below, add its name to the schema's enum and its oracle to
``tests/test_schedules.py``; the registry test names whatever was forgotten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Hyperparameter:
    """A per-run number: its default and its allowed range (open or closed at each end)."""

    name: str
    default: float
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    integer: bool = False
    description: str = ""

    def allows(self, value) -> bool:
        """Whether ``value`` is a finite number (an integer where asked) inside the range."""
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            and not hasattr(value, "__float__")
        ):
            return False
        value = float(value)
        if not math.isfinite(value) or (self.integer and not value.is_integer()):
            return False
        if self.minimum is not None and (
            value <= self.minimum if self.exclusive_minimum else value < self.minimum
        ):
            return False
        return self.maximum is None or (
            value < self.maximum if self.exclusive_maximum else value <= self.maximum
        )

    @property
    def allowed(self) -> str:
        """The range in words: ``> 0``, ``in [0, 1)``, ``an integer >= 0``."""
        low = None if self.minimum is None else f"{self.minimum:g}"
        high = None if self.maximum is None else f"{self.maximum:g}"
        kind = "an integer " if self.integer else ""
        if low is not None and high is not None:
            left, right = (
                "(" if self.exclusive_minimum else "[",
                ")" if self.exclusive_maximum else "]",
            )
            return f"{kind}in {left}{low}, {high}{right}"
        if low is not None:
            return f"{kind}{'>' if self.exclusive_minimum else '>='} {low}"
        if high is not None:
            return f"{kind}{'<' if self.exclusive_maximum else '<='} {high}"
        return kind.strip() or "a finite number"


def _positive(name, default, description):
    return Hyperparameter(name, default, 0.0, exclusive_minimum=True, description=description)


def _non_negative(name, default, description):
    return Hyperparameter(name, default, 0.0, description=description)


def _unit_interval(name, default, description):
    return Hyperparameter(name, default, 0.0, 1.0, exclusive_maximum=True, description=description)


HYPERPARAMETERS: dict[str, Hyperparameter] = {
    h.name: h
    for h in (
        _positive("learning_rate", 0.01, "initial learning rate η0"),
        _non_negative("decay_rate", 0.0, "decay rate of the schedule (γ, d or r)"),
        _positive("decay_steps", 1000.0, "steps over which the schedule decays (T)"),
        Hyperparameter("alpha", 0.0, 0.0, 1.0, description="floor of cosine schedules, × η0"),
        _positive("power", 1.0, "exponent of the polynomial schedule"),
        _non_negative("end_learning_rate", 0.0001, "final rate of the polynomial schedule"),
        _non_negative("warmup_steps", 0.0, "linear warm-up steps of cosine and wsd"),
        Hyperparameter(
            "anneal_fraction", 0.2, 0.0, 1.0, description="final fraction of the wsd schedule's T"
        ),
        _positive("t_mul", 2.0, "period growth of cosine restarts"),
        _positive("m_mul", 1.0, "amplitude factor of cosine restarts"),
        _non_negative("strength", 0.0, "regularization strength λ"),
        _unit_interval("momentum", 0.0, "momentum μ"),
        _unit_interval("beta_1", 0.9, "Adam's β1"),
        _unit_interval("beta_2", 0.999, "Adam's β2"),
        _unit_interval("rho", 0.9, "RMSprop's ρ"),
        _positive("epsilon", 1e-7, "ε of Adam, RMSprop and Adagrad"),
        _non_negative("initial_accumulator_value", 0.1, "Adagrad's a₀"),
        Hyperparameter("seed", 0, 0.0, integer=True, description="initialization and shuffling"),
    )
}
"""Every per-run number, by name."""

DERIVED_STRENGTHS: dict[str, Hyperparameter] = {
    h.name: h
    for h in (
        _positive(
            "timescale",
            100.0,
            "τ_epoch = 1/(η0·λ·M): the decay's timescale in epochs (M updates per epoch); "
            "λ = 1/(η0·τ·M)",
        ),
        _positive("lr_times_strength", 1e-4, "η0·λ: λ = (η0·λ)/η0"),
    )
}
"""Per-run numbers that an experiment may give instead of ``strength``; each run's λ is derived
from them (``grid.resolve_strength``), and both are recorded."""

COMMON = ("learning_rate", "seed")
"""The hyper-parameters every run has."""


@dataclass(frozen=True)
class Component:
    """A named piece of code: the hyper-parameters it reads and its shard-wide options.

    ``ranges`` narrows a hyper-parameter's range for this component; ``defaults`` changes its
    default (momentum is 0.9 for ``momentum``, 0 for ``rmsprop``).
    """

    name: str
    hyperparameters: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    ranges: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)
    description: str = ""

    def hyperparameter(self, name: str) -> Hyperparameter:
        """The declaration of ``name`` with this component's range and default."""
        declared = HYPERPARAMETERS[name]
        if name in self.ranges:
            declared = replace(declared, **self.ranges[name])
        if name in self.defaults:
            declared = replace(declared, default=self.defaults[name])
        return declared


def _table(*components: Component) -> dict[str, Component]:
    return {c.name: c for c in components}


SCHEDULES = _table(
    Component("constant", description="η_t = η0"),
    Component("inverse_sqrt", ("decay_rate",), description="η0 / sqrt(1 + γ²·t)"),
    Component(
        "exponential_per_epoch",
        ("decay_rate",),
        ranges={"decay_rate": {"maximum": 1.0, "exclusive_maximum": True}},
        description="η0·(1 − d)^epoch",
    ),
    Component(
        "exponential",
        ("decay_rate", "decay_steps"),
        ("staircase",),
        ranges={"decay_rate": {"exclusive_minimum": True}},
        description="η0·r^(t/T)",
    ),
    Component(
        "inverse_time", ("decay_rate", "decay_steps"), ("staircase",), description="η0/(1 + r·t/T)"
    ),
    Component("piecewise", (), ("boundaries", "factors"), description="η0·f_i between boundaries"),
    Component(
        "polynomial",
        ("decay_steps", "end_learning_rate", "power"),
        ("cycle",),
        description="(η0 − η_end)·(1 − t/T)^p + η_end",
    ),
    Component(
        "cosine", ("decay_steps", "alpha", "warmup_steps"), description="warm-up, cosine decay"
    ),
    Component("cosine_restarts", ("decay_steps", "alpha", "t_mul", "m_mul"), description="SGDR"),
    Component(
        "wsd",
        ("decay_steps", "warmup_steps", "anneal_fraction"),
        description="warm-up, stable η0, linear anneal over the last fraction",
    ),
)
"""Learning-rate schedules (``schedules.py``)."""

OPTIMIZERS = _table(
    Component("sgd", description="Δw = −η_t·g"),
    Component(
        "momentum",
        ("momentum",),
        ("nesterov",),
        defaults={"momentum": 0.9},
        description="heavy ball or Nesterov",
    ),
    Component("adam", ("beta_1", "beta_2", "epsilon"), description="Adam"),
    Component("rmsprop", ("rho", "momentum", "epsilon"), description="RMSprop"),
    Component("adagrad", ("initial_accumulator_value", "epsilon"), description="Adagrad"),
)
"""Optimizers (``transforms.py``); the optimizer decides the state, so it splits shards."""

REGULARIZATIONS = _table(
    Component("none"),
    Component("l2", ("strength",), description="loss + λ/2·Σw²"),
    Component("l1", ("strength",), description="loss + λ·Σ|w|"),
    Component("decoupled_lr", ("strength",), description="w ← w − η_t·λ·w (Keras)"),
    Component("decoupled", ("strength",), description="w ← w − (η_t/η0)·λ·w (L&H)"),
)
"""Regularizations: penalties in the loss or decoupled decay in the update."""


def strength_readers(kinds) -> set[str]:
    """The regularization kinds among ``kinds`` that read a strength λ (every kind but none)."""
    return {kind for kind in kinds if REGULARIZATIONS[kind].hyperparameters}


MODELS = _table(
    Component("linear", options=()),
    Component("polynomial", options=("degree",)),
    Component("mlp", options=("hidden", "activation", "normalization", "affine", "fixed_head")),
    Component(
        "cnn",
        options=(
            "filters",
            "kernel_size",
            "pool",
            "hidden",
            "activation",
            "normalization",
            "affine",
            "fixed_head",
        ),
    ),
)
"""Models (``models.py``); their options are the architecture, which splits shards."""

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "softplus", "silu")
"""Hidden-layer activations of ``mlp`` and ``cnn`` (Keras names)."""

NORMALIZATIONS = ("none", "layer", "batch")
"""What follows each hidden layer's linear map: nothing, LayerNorm or BatchNorm."""

GENERATORS = _table(
    Component(
        "linear", options=("n", "n_features", "slope", "intercept", "noise", "x_range", "seed")
    ),
    Component("sine", options=("n", "noise", "x_range", "seed")),
    Component("moons", options=("n", "noise", "seed")),
    Component("spirals", options=("n", "n_classes", "noise", "seed")),
    *(
        Component(name, options=(), description="tabular, bundled with scikit-learn")
        for name in ("breast_cancer", "wine", "iris", "diabetes")
    ),
    Component("digits", options=(), description="8×8 images, bundled with scikit-learn"),
    Component(
        "mnist1d",
        options=(
            "n",
            "seed",
            "padding",
            "scale_coeff",
            "max_translation",
            "corr_noise_scale",
            "iid_noise_scale",
            "shear_scale",
            "length",
        ),
        description="MNIST-1D sequences, generated",
    ),
    Component("file", options=("path", "target", "features", "task"), description="user's file"),
    *(
        Component(name, options=("origin", "checksums"), description="Keras archive")
        for name in ("mnist", "fashion_mnist", "cifar10")
    ),
)
"""Data sources (``data.py``, ``sources.py``) and the options each accepts."""

STANDARDIZED = frozenset({"breast_cancer", "wine", "iris", "diabetes", "digits", "file"})
"""Sources whose features are standardized by default (tabular data); the others — synthetic
problems defined on their own scale, images scaled to [0, 1], MNIST-1D standardized as a whole —
are not, unless the split says so."""

PER_RUN_KINDS = {"schedule": SCHEDULES, "regularization": REGULARIZATIONS}
"""Names that select code but vary inside a shard: every kind is computed, each run picks one."""


def declaration(name: str, optimizer: str, schedule: str, regularization: str) -> Hyperparameter:
    """``name`` as the components of a run declare it (their range and default)."""
    for component in (
        OPTIMIZERS[optimizer],
        SCHEDULES[schedule],
        REGULARIZATIONS[regularization],
    ):
        if name in component.hyperparameters:
            return component.hyperparameter(name)
    return HYPERPARAMETERS[name]
