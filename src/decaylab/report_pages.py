"""The report's table pages: what holds one value throughout, said once above the table; the
table itself sortable and filterable offline (itables, with DataTables' JavaScript embedded in the
page, so it works without a network); numbers to the precision they have; the selected grid point
and those indistinguishable from it marked.

itables is used rather than a hand-written table: it brings sorting, a search box and a filter per
column, and writes one self-contained file (Snakemake's own datavzrd would need conda).
"""

import html
import math

import pandas as pd

SIGNIFICANT_DIGITS = 4
"""Significant digits of a number that carries no interval of its own."""

INTERVAL_DIGITS = 2
"""Significant digits of a spread (a standard deviation, an interval's half-width)."""

SPREADS = ("_ci95", "_std")
MARKS = {"selected": "★ selected", "indistinguishable": "≈ indistinguishable"}
NOT_APPLICABLE = "—"
"""What a cell without a value shows (a setting the row's kind does not have, a missing
interval)."""


def constant_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that hold one value (or only missing values) on every row of a frame of two or
    more rows."""
    if len(frame) < 2:
        return []
    return [c for c in frame if frame[c].nunique(dropna=False) == 1]


def significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits (``round(v, digits − 1 − ⌊log10|v|⌋)``);
    0 and non-finite values as they are."""
    if not math.isfinite(value) or value == 0:
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value)))) + 0.0


def to_interval(value: float, spread: float) -> float:
    """``value`` rounded to the decimal of ``spread``'s second significant digit: the precision
    an interval of half-width ``spread`` gives it."""
    if not (math.isfinite(value) and math.isfinite(spread)) or spread <= 0:
        return significant(value, SIGNIFICANT_DIGITS)
    return round(value, INTERVAL_DIGITS - 1 - math.floor(math.log10(spread))) + 0.0


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Every float column of ``frame`` to its precision: a metric's mean to its own 95 % interval
    (``X_mean`` by ``X_ci95``, row by row), spreads to :data:`INTERVAL_DIGITS` significant
    digits, everything else to :data:`SIGNIFICANT_DIGITS`. Numbers stay numbers, so that they
    sort as numbers."""
    shown = frame.copy()
    for column in shown.select_dtypes("float").columns:
        values = shown[column]
        if column.endswith(SPREADS):
            shown[column] = values.map(lambda v: significant(v, INTERVAL_DIGITS))
        elif column.endswith("_mean") and f"{column[:-5]}_ci95" in shown:
            spreads = frame[f"{column[:-5]}_ci95"]
            shown[column] = [to_interval(v, s) for v, s in zip(values, spreads, strict=True)]
        else:
            shown[column] = values.map(lambda v: significant(v, SIGNIFICANT_DIGITS))
    return shown


def marked(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a first column ``mark`` that names the selected row and the indistinguishable
    ones, in place of the boolean columns ``selected`` and ``indistinguishable`` (where present)."""
    present = [c for c in MARKS if c in frame]
    if not present:
        return frame
    mark = pd.Series("", index=frame.index)
    for column in reversed(present):  # "selected" wins over "indistinguishable"
        mark = mark.mask(frame[column].fillna(False).astype(bool), MARKS[column])
    return pd.concat([mark.rename("mark"), frame.drop(columns=present)], axis=1)


def table_page(title: str, note: str, frame: pd.DataFrame) -> str:
    """``frame`` as a self-contained page of the report: the ``title``, the sentence ``note``
    on what it shows, the settings that hold one value throughout, and the rest as a sortable,
    filterable table (standard deviations left to the CSV file: each mean shown with its 95 %
    interval)."""
    import itables  # here: a table page is written only at the end of an experiment
    from itables.javascript import generate_init_offline_itables_html

    constant = constant_columns(frame)
    spreads = [c for c in frame if c.endswith("_std") and c not in constant]  # the CSV has them
    varying = marked(rounded(frame.drop(columns=constant + spreads)))
    held = "".join(
        f"<dt>{html.escape(c)}</dt><dd>{html.escape(_text(frame[c].iloc[0]))}</dd>"
        for c in constant
    )
    numbers = list(varying.select_dtypes("number").columns)
    texts = [c for c in varying if c not in numbers]
    varying[texts] = varying[texts].astype(object).fillna(NOT_APPLICABLE)
    column_defs, headers = _number_columns(list(varying), numbers)
    table = itables.to_html_datatable(
        varying.rename(columns=headers),
        columnDefs=column_defs,
        connected=False,  # DataTables embedded: the page works offline
        showIndex=False,
        maxBytes=0,  # every row, never a downsampled preview
        pageLength=25,
        column_filters="header",
        classes="display compact nowrap",
        display_logo_when_loading=False,
        format_floats_in_python=False,  # the numbers as rounded above, shown in full
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1em} dl{display:grid;"
        "grid-template-columns:max-content auto;gap:0 1em} dt{font-weight:bold} "
        "thead input{width:100%;min-width:5em;box-sizing:border-box}</style>"
        f"</head><body><h3>{html.escape(title)}</h3><p>{html.escape(note)}</p>"
        + (f"<p>The same on every row:</p><dl>{held}</dl>" if held else "")
        + generate_init_offline_itables_html(itables.options.dt_bundle)  # DataTables' code
        + f"{table}</body></html>"
    )


def _number_columns(columns: list[str], numbers: list[str]) -> tuple[list[dict], dict[str, str]]:
    """DataTables' column definitions of the number columns: each ``X_mean`` shown as
    ``mean ± half-width`` (its ``X_ci95`` column hidden), a missing number as
    :data:`NOT_APPLICABLE`, sorting and filtering by the number itself; and the headers
    ``X ± 95 %`` of the means."""
    from itables import JavascriptFunction

    spread_of = {
        c: columns.index(f"{c.removesuffix('_mean')}_ci95")
        for c in numbers
        if c.endswith("_mean") and f"{c.removesuffix('_mean')}_ci95" in columns
    }
    hidden = sorted(spread_of.values())
    definitions = [{"targets": hidden, "visible": False}] if hidden else []
    for i, column in enumerate(columns):
        if column not in numbers or i in hidden:
            continue
        j = spread_of.get(column)
        render = (
            "function (value, type, row) { if (type !== 'display') return value; "
            f"if (Number.isNaN(value)) return '{NOT_APPLICABLE}'; "
            + ("return value; }" if j is None else
               f"return Number.isNaN(row[{j}]) ? value : value + ' ± ' + row[{j}]; }}")
        )  # fmt: skip
        definitions.append({"targets": i, "render": JavascriptFunction(render)})
    headers = {c: f"{c.removesuffix('_mean')} ± 95 %" for c in spread_of}
    return definitions, headers


def _text(value) -> str:
    if isinstance(value, float):
        return "none" if math.isnan(value) else f"{significant(value, SIGNIFICANT_DIGITS):g}"
    return "" if value is pd.NA or value is None else str(value)
