"""Generated blocks: every block of the README and the docs pages equals what its source file
renders, and the rewriting refuses what it cannot do, naming it."""

import json
from pathlib import Path

import pytest
from test_claims import EXPECT, measured

from decaylab import claims, docs_blocks

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def block(name, source, body):
    start = docs_blocks.START.format(name=name, source=source)
    return f"{start}\n{body}\n{docs_blocks.END.format(name=name)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_generated_block_equals_its_source(page):
    text = page.read_text()
    for name, source, body in docs_blocks.blocks(text):
        assert body == docs_blocks.render(name, source, ROOT), (
            f"{page.relative_to(ROOT)}: the {name} from {source} differs from the file; "
            f"regenerate it with python -m decaylab.docs_blocks {page.relative_to(ROOT)}"
        )


def test_the_pages_hold_the_blocks_the_issue_asks_for():
    found = {
        (page.relative_to(ROOT).as_posix(), name, source)
        for page in PAGES
        for name, source, _ in docs_blocks.blocks(page.read_text())
    }
    for expected in [
        ("README.md", "results at a glance", "docs/claims.csv"),
        ("README.md", "measured table", "docs/performance/quick_start.json"),
        ("docs/findings.md", "claims table", "docs/claims.csv"),
        ("docs/findings.md", "claims table", "docs/paper/claims.csv"),
        ("docs/reliability.md", "measured table", "docs/reliability/faults.json"),
        ("docs/gpu.md", "measured table", "docs/performance/gpu_vs_cpu.json"),
    ]:
        assert expected in found
    sources = {source for _, _, source in found}
    for table in (ROOT / "docs").rglob("*.json"):  # every committed result is shown somewhere
        assert table.relative_to(ROOT).as_posix() in sources


def test_a_stale_block_is_rewritten_and_the_rest_of_the_page_kept(tmp_path):
    path = tmp_path / "claims.csv"
    claims.judge("e", EXPECT, lambda gates: measured(1.0)).to_csv(path, index=False)
    page = f"before\n{block('claims table', 'claims.csv', 'stale')}\nafter\n"
    rewritten = docs_blocks.regenerate(page, tmp_path)
    assert rewritten.startswith("before\n") and rewritten.endswith("\nafter\n")
    assert "stale" not in rewritten
    assert claims.markdown(claims.read(path)) in rewritten
    assert docs_blocks.regenerate(rewritten, tmp_path) == rewritten  # a fixed point


def test_a_measured_table_is_written_and_rendered_as_markdown(tmp_path):
    path = tmp_path / "t.json"
    shown = docs_blocks.write_table(
        path, ["case", "s"], [["a", "1.5"], ["b", 2]], "python x.py", "a 2-core machine"
    )
    assert json.loads(path.read_text())["rows"] == [["a", "1.5"], ["b", "2"]]
    assert shown == (
        "| case | s |\n|---|---:|\n| a | 1.5 |\n| b | 2 |\n\n"
        "Measured with `python x.py` on a 2-core machine."
    )
    assert docs_blocks.render("measured table", "t.json", tmp_path) == shown


def test_the_results_at_a_glance_keep_one_verdict_per_claim(tmp_path):
    table = claims.read(ROOT / "docs/claims.csv")
    glance = docs_blocks.results_at_a_glance(ROOT / "docs/claims.csv").splitlines()
    assert len(glance) == 2 + len(table)
    row = table[(table["experiment"] == "decoupling_sgd") & (table["group"] == "l2")].iloc[0]
    assert f"| decoupling_sgd | l2 | {claims.prediction_text(row)} | {row['verdict']} |" in glance


def test_bad_blocks_are_refused_naming_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="unknown generated block 'nonsense'"):
        docs_blocks.regenerate(block("nonsense", "x.csv", ""), tmp_path)
    with pytest.raises(FileNotFoundError, match="its source missing.json does not exist"):
        docs_blocks.regenerate(block("measured table", "missing.json", ""), tmp_path)
    start = docs_blocks.START.format(name="claims table", source="c.csv")
    with pytest.raises(ValueError, match="no end marker"):
        docs_blocks.regenerate(f"{start}\n| a |\n", tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"columns": ["a"], "rows": []}))
    with pytest.raises(ValueError, match=r"bad.json: a measured table needs the keys"):
        docs_blocks.regenerate(block("measured table", "bad.json", ""), tmp_path)


def test_the_command_rewrites_pages_and_checks_them(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    docs_blocks.write_table("t.json", ["a"], [["1"]], "python x.py", "here")
    page = tmp_path / "page.md"
    page.write_text(block("measured table", "t.json", "old") + "\n")
    assert docs_blocks.main(["--check", "page.md"]) == 1
    assert "page.md: differs from its sources" in capsys.readouterr().out
    assert docs_blocks.main(["page.md"]) == 0
    assert docs_blocks.main(["--check", "page.md"]) == 0
    assert "| 1 |" in page.read_text()
