"""Equivalence verdicts (TOST) and the band check on constructed intervals; claims judged from a
constructed measurement with identity checks that hold and fail; what was fixed when, in git."""

import subprocess

import numpy as np
import pandas as pd
import pytest

from decaylab import claims, figure_checks, inference, timeline


@pytest.mark.parametrize(
    ("prediction", "ci90", "ci95", "expected"),
    [
        (0, (-0.10, 0.10), (-0.15, 0.15), claims.AGREES),  # 90 % inside 0 ± 0.25
        (0, (-0.20, 0.24), (-0.30, 0.30), claims.AGREES),  # the 95 % one may stick out
        (0, (-0.05, 1.19), (-0.10, 1.30), claims.INCONCLUSIVE),  # the decoupling_adam
        (0, (0.20, 0.40), (0.17, 0.45), claims.INCONCLUSIVE),  # touching is not agreeing
        (0, (0.30, 0.50), (0.26, 0.55), claims.DISAGREES),  # 95 % misses 0 ± 0.25
        (1, (-1.40, -0.90), (-1.5, -0.8), claims.DISAGREES),
        (-1, (-1.26, -1.26), (-1.26, -1.26), claims.DISAGREES),  # just outside: the band is closed
        (0.5, (0.2551, 0.7449), (0.20, 0.80), claims.AGREES),
        (0.5, (0.2449, 0.60), (0.20, 0.65), claims.INCONCLUSIVE),  # paper's 0.755 by a hair
        (0, (np.nan, np.nan), (np.nan, np.nan), claims.INCONCLUSIVE),  # one seed: no interval
    ],
)
def test_tost_verdict(prediction, ci90, ci95, expected):
    assert claims.verdict(prediction, 0.25, ci90, ci95) == expected


def test_a_wider_interval_never_agrees_more_easily():
    narrow = claims.verdict(0, 0.25, (-0.1, 0.1), (-0.12, 0.12))
    for half in (0.2, 0.3, 0.6, 1.2):
        wider = claims.verdict(0, 0.25, (-half, half), (-half * 1.2, half * 1.2))
        assert narrow == claims.AGREES and (wider == claims.AGREES) == (half <= 0.25)


def test_bands_that_overlap_a_rival_are_refused():
    expect = {"slope": {"x": "learning_rate", "value": 0, "rivals": [-0.4], "margin": 0.25}}
    problems = figure_checks.band_problems("experiments.e.expect", expect)
    assert len(problems) == 1 and "overlaps the rival(s) [-0.4]" in problems[0]
    expect["slope"]["margin"] = 0.2
    assert figure_checks.band_problems("experiments.e.expect", expect) == []
    one_apart = {"slope": {"by": "k", "values": {"a": 0}, "rivals": {"a": [-1]}, "margin": 0.25}}
    assert figure_checks.band_problems("e", one_apart) == []


EXPECT = {
    "slope": {
        "x": "learning_rate",
        "by": "regularization",
        "statistic": "vertex",
        "values": {"l2": 0.0},
        "rivals": {"l2": [-1.0]},
        "identities": [{"group": "decoupled", "minus": "l2", "difference": 1, "guards": ["l2"]}],
        "gates": {"identity": 0.1},
    }
}


def measured(difference: float, seed_slopes=(0.02, -0.03, 0.01)):
    """A :class:`inference.Measured` of an l2 claim whose seeds' slopes are ``seed_slopes`` and
    whose identity check finds ``difference``."""
    slopes = np.array(seed_slopes)
    primary = pd.DataFrame(
        [
            {
                "regularization": kind,
                "x": "learning_rate",
                "statistic": "vertex",
                **inference.summarize(slopes + shift),
                "n_x": 5,
                "n_fitted": 4,
                **dict.fromkeys(claims.GATE_COUNTS, 0),
                "n_trained": 1,
                "n_seeds": 3,
            }
            for kind, shift in (("l2", 0.0), ("decoupled", difference))
        ]
    )
    exploratory = pd.DataFrame(
        [{"regularization": "l2", "statistic": "argmin", "slope": 2.0}], columns=None
    )
    return inference.Measured(
        ["regularization"], primary, exploratory, lambda a, b: np.full(3, difference)
    )


def test_a_claim_whose_identity_holds_is_judged_and_one_whose_identity_fails_is_not():
    held = claims.judge("e", EXPECT, lambda gates: measured(1.05))
    assert list(held["group"]) == ["l2"]  # decoupled is a check, not a claim
    assert held["verdict"].iloc[0] == claims.AGREES
    assert "holds" in held["identity"].iloc[0] and "+1.05" in held["identity"].iloc[0]
    assert held["exploratory"].iloc[0] == "argmin +2.00"
    broken = claims.judge("e", EXPECT, lambda gates: measured(1.3))
    assert broken["verdict"].iloc[0] == claims.NOT_VALID and "fails" in broken["identity"].iloc[0]


def test_sensitivity_judges_again_with_each_tolerance_halved_and_doubled():
    table = claims.judge("e", EXPECT, lambda gates: measured(1.08))
    assert table["identity ×½"].iloc[0] == claims.NOT_VALID  # |0.08| > 0.05
    assert table["identity ×2"].iloc[0] == claims.AGREES
    assert table["sensitivity"].iloc[0] == f"identity ×½: {claims.NOT_VALID}"
    assert set(claims.VARIANTS) <= set(table)


def test_a_rival_that_agrees_is_named():
    table = claims.judge("e", EXPECT, lambda gates: measured(1.0, (-1.01, -0.98, -1.0)))
    assert table["verdict"].iloc[0] == claims.DISAGREES
    assert table["rivals_agreeing"].iloc[0] == "-1"


def test_the_claims_table_reads_back_and_renders(tmp_path):
    table = claims.judge("e", EXPECT, lambda gates: measured(1.05))
    table.to_csv(tmp_path / "claims.csv", index=False)
    back = claims.read(tmp_path / "claims.csv")
    text = claims.markdown(back)
    assert "**agrees**" in text and "+0 ± 0.25 (rivals −1)" in text
    assert "4 of 5 (1 untrained)" in text
    assert claims.interval_text(back.iloc[0], 95).startswith("+0.00 [")


def git(folder, *arguments):
    subprocess.run(["git", "-C", str(folder), *arguments], check=True, capture_output=True)


def test_the_commit_of_a_design_and_whether_it_predates_the_runs(tmp_path):
    """The design is the prediction and every setting that decides what trains: a changed
    description keeps its commit, a changed number of epochs moves it."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "a@b")
    git(tmp_path, "config", "user.name", "a")
    config = tmp_path / "config.yaml"

    def commit(value, epochs, message):
        config.write_text(
            f"experiments:\n  e:\n    description: {message}\n    epochs: {epochs}\n"
            f"    expect: {value}\n"
        )
        git(tmp_path, "add", "config.yaml")
        git(tmp_path, "commit", "-qm", message)

    commit("{slope: 0}", 5, "first")
    commit("{slope: 1}", 5, "second")  # the prediction changes here …
    commit("{slope: 1}", 5, "third")  # … and not here (only the description changes)
    history = subprocess.run(
        ["git", "-C", str(tmp_path), "log", "--format=%H"], capture_output=True, text=True
    ).stdout.split()
    design = timeline.digest({"epochs": 5, "expect": {"slope": 1}, "dataset_settings": None})
    assert timeline.design_commits("config.yaml", tmp_path)["e"] == (design, history[1])
    assert timeline.predates(history[1], (history[0], False), tmp_path) == "yes"
    assert timeline.predates(history[1], (history[2], False), tmp_path) == "no"  # runs before
    assert timeline.predates(history[1], (history[0], True), tmp_path).startswith("unknown")
    commit("{slope: 1}", 10, "fourth")  # a longer training is another design
    history = subprocess.run(
        ["git", "-C", str(tmp_path), "log", "--format=%H"], capture_output=True, text=True
    ).stdout.split()
    assert timeline.design_commits("config.yaml", tmp_path)["e"][1] == history[0]
    config.write_text("experiments:\n  e:\n    expect: {slope: 2}\n")  # edited, not committed
    assert timeline.design_commits("config.yaml", tmp_path)["e"][1] == timeline.UNCOMMITTED


def test_a_prediction_on_seeds_of_its_pilot_is_never_confirmatory(tmp_path):
    """Seeds listed before the prediction's commit make the claim exploratory however often it is
    retrained afterwards; fresh seeds keep it confirmatory."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "a@b")
    git(tmp_path, "config", "user.name", "a")
    config = tmp_path / "config.yaml"

    def commit(seeds, expect, message):
        block = f"    expect: {expect}\n" if expect else ""
        config.write_text(f"experiments:\n  e:\n    seeds: {seeds}\n{block}")
        git(tmp_path, "add", "config.yaml")
        git(tmp_path, "commit", "-qm", message)
        return subprocess.run(
            ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()

    commit("[0, 1, 2]", "", "pilot")
    predicted = commit("[0, 1, 2, 3]", "{slope: 1}", "prediction")
    assert timeline.seeds_seen_before("config.yaml", {"e": predicted}, tmp_path) == {"e": {0, 1, 2}}
    assert timeline._first("yes", {0, 1, 2} & {0, 1, 2, 3}).startswith("no (seeds 0, 1, 2")
    assert timeline._first("yes", {0, 1, 2} & {10, 11}) == "yes"
    assert timeline._first("no", set()) == "no"


def test_the_claims_page_and_forest_plot_show_one_row_per_claim():
    import matplotlib

    matplotlib.use("Agg")
    from decaylab import claims_page
    from decaylab.figures import forest
    from decaylab.figures.drawing import forest as forest_drawing

    table = pd.concat(
        [
            claims.judge("e", EXPECT, lambda gates: measured(1.05)),
            claims.judge("f", EXPECT, lambda gates: measured(1.3)),
        ],
        ignore_index=True,
    )
    prepared = forest.prepare(table)
    assert list(prepared.frames["claims"]["verdict"]) == [claims.AGREES, claims.NOT_VALID]
    bands = prepared.frames["bands"]
    assert sorted(bands[bands["y"] == 0]["role"]) == ["prediction", "rival"]
    assert bands[bands["role"] == "prediction"]["low"].tolist() == [-0.25, -0.25]
    figure = forest_drawing.draw(prepared)
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == ["e · l2", "f · l2"]
    page = claims_page.page(table, "<svg></svg>", "Exploratory: a test.")
    assert page.count("<tr>") == 1 + len(table) and "<svg></svg>" in page
    assert "estimate not valid" in page and "Exploratory: a test." in page
