"""Seaborn figures of a study's tables: a registry of figure kinds that prepare, then draw.

Each kind (:data:`KINDS`) declares the inputs it needs (tables of the experiment, or its
``split`` data), the inputs it uses where the experiment makes them (``optional``), the
settings of the experiment it takes as options, and its caption. Its module
``decaylab.figures.<name>`` has ``prepare(**inputs, **options)``, which computes everything
the figure shows as tidy frames (:class:`~decaylab.figures.common.Prepared`) without
importing matplotlib, and ``decaylab.figures.drawing.<name>`` has ``draw(prepared,
ax=None)``, which only draws it — as ArviZ computes its plotters, then hands them to a
backend. :func:`make` does both, with seaborn's theme set when drawing (not at
import), and where the tables hold nothing to show draws a figure that says why.

This module imports no kind's module until a figure is prepared, and matplotlib only when
one is drawn, so that planning a workflow reads the registry cheaply.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

from decaylab.figures.captions import CAPTIONS, caption_of
from decaylab.figures.common import NothingToDraw, Prepared


@dataclass(frozen=True)
class Kind:
    """A figure kind: the ``inputs`` its ``prepare`` needs, the ``optional`` ones it uses
    where the experiment makes them, and the experiment ``settings`` it takes as options
    (``expect``: the predictions; ``model``; ``source``: the data set's generator)."""

    name: str
    inputs: tuple[str, ...]
    optional: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()

    @property
    def preparer(self):
        """The module with this kind's ``prepare`` (pandas and numpy only)."""
        return importlib.import_module(f"decaylab.figures.{self.name}")

    @property
    def drawer(self):
        """The module with this kind's ``draw`` (matplotlib and seaborn)."""
        return importlib.import_module(f"decaylab.figures.drawing.{self.name}")

    @property
    def caption(self) -> str:
        """The report's caption template (:mod:`decaylab.figures.captions`)."""
        return CAPTIONS[self.name]


KINDS = {
    kind.name: kind
    for kind in (
        Kind("fit", ("runs", "curves", "split"), settings=("model", "source")),
        Kind("learning_curves", ("history", "runs")),
        Kind("learning_rates", ("history",)),
        Kind("heatmap", ("summary",), optional=("optima",)),
        Kind("strength_curves", ("runs",)),
        Kind("optimum", ("optima", "slopes"), settings=("expect",)),
        Kind("basins", ("runs", "optima"), settings=("select",)),
        Kind("equilibrium", ("runs", "equilibrium_slope")),
        Kind("scatter", ("summary",)),
    )
}
"""Every figure kind, by the name a config's ``figures:`` gives it."""


def kind_of(name: str) -> Kind:
    """The :class:`Kind` called ``name``; ValueError naming the kinds there are otherwise."""
    if name not in KINDS:
        raise ValueError(f"figure must be one of {sorted(KINDS)}, got {name!r}")
    return KINDS[name]


def inputs_of(name: str, figures: dict) -> tuple[str, ...]:
    """The inputs figure ``name`` reads in an experiment whose config asks for ``figures``
    (``{kind: options}``): its own, and each optional one that another kind asked for needs
    (so that it is made anyway)."""
    made = {i for other, wanted in figures.items() if wanted for i in kind_of(other).inputs}
    kind = kind_of(name)
    return kind.inputs + tuple(i for i in kind.optional if i in made)


def prepare(name: str, inputs: dict, **options) -> Prepared:
    """What figure ``name`` shows, computed from ``inputs`` (see :class:`Kind`) and its
    ``options``; :class:`~decaylab.figures.common.NothingToDraw` where there is nothing."""
    kind = kind_of(name)
    missing = [i for i in kind.inputs if i not in inputs]
    if missing:
        raise ValueError(f"figure {name!r} needs the inputs {list(kind.inputs)}; {missing} missing")
    given = {i: inputs[i] for i in kind.inputs + kind.optional if i in inputs}
    accepted = [o for o in inspect.signature(kind.preparer.prepare).parameters if o not in given]
    unknown = [o for o in options if o not in accepted]
    if unknown:
        raise ValueError(f"figure {name!r} takes the options {accepted}; got {unknown}")
    return kind.preparer.prepare(**given, **options)


def draw(prepared: Prepared, ax=None):
    """The matplotlib ``Figure`` of ``prepared``, drawn on ``ax`` (an axes or an array of
    them) where given, with seaborn's theme (``drawing.THEME``)."""
    from decaylab.figures import drawing

    drawing.theme()
    return kind_of(prepared.name).drawer.draw(prepared, ax=ax)


def make(name: str, inputs: dict, ax=None, **options):
    """Figure ``name`` of ``inputs``: :func:`prepare`, then :func:`draw` (on ``ax`` where
    given); where the inputs hold nothing to show, a figure that says why."""
    try:
        prepared = prepare(name, inputs, **options)
    except NothingToDraw as reason:
        from decaylab.figures import drawing

        drawing.theme()
        return drawing.message_figure(name, str(reason), ax=ax)
    return draw(prepared, ax=ax)


def caption(name: str, experiment: str, settings: dict, options: dict) -> str:
    """The report's caption of figure ``name`` of ``experiment`` (its config ``settings``;
    the figure's ``options``)."""
    return caption_of(kind_of(name).caption, experiment, settings, options)
