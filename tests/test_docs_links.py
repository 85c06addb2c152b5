"""Every relative link and image of the README, the config reference, the tests' page, the
changelog and the docs pages resolves: the file exists, and an ``#anchor`` names a heading of
the page it points to, by GitHub's rule for heading slugs. And CI runs the README's quick
start: its test command, exactly."""

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    ROOT / "CHANGELOG.md",
    ROOT / "config/README.md",
    ROOT / "tests/README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
]
PARSER = MarkdownIt("commonmark").enable("table")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, every character that is not a letter, a digit,
    ``_``, ``-`` or a space dropped, spaces turned into ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a page's headings; a repeated heading gets ``-1``, ``-2`` … as on GitHub."""
    tokens, seen, found = PARSER.parse(text), {}, set()
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type != "heading_open":
            continue
        words = "".join(c.content for c in inline.children if c.type in ("text", "code_inline"))
        name = slug(words)
        found.add(f"{name}-{seen[name]}" if name in seen else name)
        seen[name] = seen.get(name, 0) + 1
    return found


def targets(text: str) -> list[str]:
    """Every link's and image's target of a page (code blocks and inline code are not links)."""
    found = []
    for token in PARSER.parse(text):
        for child in token.children or []:
            if child.type == "link_open":
                found.append(child.attrs["href"])
            elif child.type == "image":
                found.append(child.attrs["src"])
    return found


def broken(page: Path) -> list[str]:
    """The relative targets of ``page`` that name no file, or no heading of the page named."""
    problems = []
    for target in targets(page.read_text()):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue  # a web address: not checked offline
        path = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not path.exists():
            problems.append(f"{target}: no such file")
        elif parts.fragment and unquote(parts.fragment) not in anchors(path.read_text()):
            problems.append(f"{target}: no heading of {path.name} has that anchor")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves(page):
    assert broken(page) == [], f"{page.relative_to(ROOT)} has broken links"


def test_the_docs_pages_are_reached_from_the_readme():
    linked = {
        (ROOT / urlsplit(t).path).resolve() for t in targets((ROOT / "README.md").read_text())
    }
    for page in (ROOT / "docs").glob("*.md"):
        assert page.resolve() in linked, f"the README links to no {page.name}"


def test_a_missing_file_and_a_missing_anchor_are_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## What goes wrong, and what happens\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## Title\n\n[ok](other.md#what-goes-wrong-and-what-happens) [self](#title-1)"
        " [web](https://example.org/x.md) `[code](nowhere.md)`\n\n"
        "[gone](missing.md) ![figure](figures/none.png) [bad anchor](other.md#whatever)\n"
    )
    assert broken(page) == [
        "missing.md: no such file",
        "figures/none.png: no such file",
        "other.md#whatever: no heading of other.md has that anchor",
    ]


def test_slugs_follow_githubs_rule():
    assert slug("What theory predicts for λ*") == "what-theory-predicts-for-λ"
    assert slug("Paper scale (MNIST-1D): the claims") == "paper-scale-mnist-1d-the-claims"
    assert slug("`datasets.NAME`") == "datasetsname"
    assert slug("Schedules (t = optimizer step from 0, η0 = `learning_rate`)") == (
        "schedules-t--optimizer-step-from-0-η0--learning_rate"
    )


def test_ci_runs_the_readmes_quick_start():
    fences = [t for t in PARSER.parse((ROOT / "README.md").read_text()) if t.type == "fence"]
    install, test = [t.content.strip() for t in fences if t.info == "bash"][:2]
    ci = (ROOT / ".ci/run").read_text().strip().splitlines()
    assert ci[-1] == test == ". .venv/bin/activate && pytest -q"
    assert install.endswith("&& snakemake --cores 8")
    assert 'pip install -r requirements.lock -e ".[test]"' in install
    assert any('pip install --quiet -r requirements.lock -e ".[test]"' in line for line in ci)
