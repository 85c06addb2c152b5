"""Generated blocks: the result tables of the README and the docs pages, rendered from the
committed files that hold the results.

A block is everything between a start and an end marker::

    <!-- claims table: generated from docs/claims.csv; do not edit by hand -->
    | experiment | group | … |
    <!-- end of the claims table -->

The name before the colon chooses the renderer (:data:`RENDERERS`), the path after "generated
from" is the block's source, relative to the repository root (the working directory of the
command). Rewrite every block of some pages from their sources with::

    python -m decaylab.docs_blocks README.md docs/*.md

and ``--check`` to list the blocks that differ from their sources instead (exit status 1).

Measured tables (benchmarks, the quick start, the fault counts) are JSON files of one shape,
written by :func:`write_table`: ``columns`` (a header cell each), ``align`` (``left`` or
``right`` per column), ``rows`` (lists of cells, already formatted to the precision they
have), ``command`` (what measured them) and ``measured_on`` (the machine), and an optional
``note``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

START = "<!-- {name}: generated from {source}; do not edit by hand -->"
END = "<!-- end of the {name} -->"
BLOCK = re.compile(
    r"<!-- (?P<name>[^:>]+): generated from (?P<source>\S+); do not edit by hand -->\n"
    r"(?P<body>.*?)\n?<!-- end of the (?P=name) -->",
    re.DOTALL,
)


def claims_table(source: Path) -> str:
    """The claims with their slopes, intervals and verdicts (:func:`decaylab.claims.markdown`)."""
    from decaylab import claims

    return claims.markdown(claims.read(source))


def results_at_a_glance(source: Path) -> str:
    """One line per claim: what was predicted and the verdict, without the intervals of the full
    claims table."""
    from decaylab import claims

    table = claims.read(source)
    lines = ["| experiment | group | predicted | verdict |", "|---|---|---|---|"]
    for _, row in table.iterrows():
        cells = [row["experiment"], row["group"] or "—", claims.prediction_text(row)]
        lines.append("| " + " | ".join([*cells, row["verdict"]]) + " |")
    return "\n".join(lines)


def refined_claims(source: Path) -> str:
    """The claims whose estimate used refinement rounds, each beside its estimate on the config's
    grid alone."""
    from decaylab import claims

    table = claims.read(source)
    table = table[table["rounds"] > 0] if "rounds" in table else table.iloc[:0]
    header = "| experiment | group | rounds | estimate [90 %], grid + rounds | verdict "
    lines = [header + "| the config's grid alone: estimate [90 %], verdict |"]
    lines.append("|---|---|---:|---|---|---|")
    for _, row in table.iterrows():
        cells = [row["experiment"], row["group"] or "—", str(int(row["rounds"]))]
        cells += [claims.interval_text(row, 90), row["verdict"], row["unrefined"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def selections(source: Path) -> str:
    """What each experiment selected on validation and the test metrics reported for it, one
    bullet per experiment (:func:`decaylab.tables.findings` of the summary table at ``source``)."""
    import pandas as pd

    from decaylab import tables

    found = tables.findings(pd.read_csv(source)).splitlines()
    return "\n".join(f"* `{line.split(':', 1)[0]}`:{line.split(':', 1)[1]}" for line in found)


def claims_summary(source: Path) -> str:
    """One sentence on a claims table: how many claims got each verdict, and whether they are
    confirmatory (every prediction committed before its runs) or exploratory."""
    from decaylab import claims

    table = claims.read(source)
    order = [claims.AGREES, claims.DISAGREES, claims.INCONCLUSIVE, claims.NOT_VALID]
    counts = table["verdict"].value_counts()
    told = ", ".join(f"{int(counts.get(v, 0))} {v}" for v in order)
    return f"{len(table)} claims: {told}. {claims.status(table)}"


def measured_table(source: Path) -> str:
    """A JSON table (:func:`write_table`) as Markdown, with a line saying what measured it."""
    table = json.loads(Path(source).read_text())
    missing = {"columns", "rows", "command", "measured_on"} - set(table)
    if missing:
        raise ValueError(f"{source}: a measured table needs the keys {sorted(missing)}")
    align = table.get("align", ["left"] + ["right"] * (len(table["columns"]) - 1))
    lines = [
        "| " + " | ".join(table["columns"]) + " |",
        "|" + "".join("---:|" if a == "right" else "---|" for a in align),
    ]
    for row in table["rows"]:
        if len(row) != len(table["columns"]):
            raise ValueError(f"{source}: row {row} has not {len(table['columns'])} cells")
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    lines += ["", f"Measured with `{table['command']}` on {table['measured_on']}."]
    if table.get("note"):
        lines[-1] += " " + table["note"]
    return "\n".join(lines)


RENDERERS = {
    "claims table": claims_table,
    "claims summary": claims_summary,
    "selections": selections,
    "results at a glance": results_at_a_glance,
    "refined claims": refined_claims,
    "measured table": measured_table,
}
"""Each kind of block and the function that renders it from its source file."""


def write_table(path, columns, rows, command: str, measured_on: str, align=None, note=None):
    """Write a measured table as JSON (the shape :func:`measured_table` renders) and return it
    as Markdown. ``align`` defaults to the first column left, the others right."""
    table = {"command": command, "measured_on": measured_on, "columns": list(columns)}
    table["align"] = list(align or ["left"] + ["right"] * (len(columns) - 1))
    table["rows"] = [[str(cell) for cell in row] for row in rows]
    if note:
        table["note"] = note
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n")
    return measured_table(path)


def render(name: str, source: str, root: Path = Path(".")) -> str:
    """The body of the block ``name`` rendered from ``source`` (relative to ``root``)."""
    if name not in RENDERERS:
        raise ValueError(f"unknown generated block {name!r}: one of {sorted(RENDERERS)}")
    path = root / source
    if not path.is_file():
        raise FileNotFoundError(f"generated block {name!r}: its source {source} does not exist")
    return RENDERERS[name](path)


def blocks(text: str) -> list[tuple[str, str, str]]:
    """Every generated block of a page as ``(name, source, body)``; ValueError for a start
    marker without its end marker."""
    found = [(m["name"], m["source"], m["body"]) for m in BLOCK.finditer(text)]
    starts = re.findall(r"<!-- [^:>]+: generated from \S+; do not edit by hand -->", text)
    if len(starts) != len(found):
        raise ValueError(f"{len(starts) - len(found)} generated block(s) have no end marker")
    return found


def regenerate(text: str, root: Path = Path(".")) -> str:
    """``text`` with every generated block rendered again from its source."""
    blocks(text)  # refuses unterminated blocks

    def rendered(match):
        name, source = match["name"], match["source"]
        body = render(name, source, root)
        return f"{START.format(name=name, source=source)}\n{body}\n{END.format(name=name)}"

    return BLOCK.sub(rendered, text)


def main(argv=None) -> int:
    """``python -m decaylab.docs_blocks [--check] PAGE …``: rewrite each page's generated
    blocks from their sources (or, with ``--check``, list the pages whose blocks differ)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    arguments = parser.parse_args(argv)
    stale = []
    for page in arguments.pages:
        text = page.read_text()
        new = regenerate(text)
        if new != text:
            stale.append(page)
            if not arguments.check:
                page.write_text(new)
    for page in stale:
        print(f"{page}: {'differs from its sources' if arguments.check else 'regenerated'}")
    return 1 if arguments.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
