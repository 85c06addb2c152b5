"""The Snakemake workflow end to end on a tiny config, its caching, threads and bad configs."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from decaylab import data, grid, runner

REPO = Path(__file__).resolve().parents[1]
TEST_CONFIG = Path(__file__).parent / "workflow" / "config.yaml"


def make_workdir(path: Path, config: dict | None = None) -> Path:
    """A copy of the workflow with ``config`` (default: the test config) as its config."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "Snakefile", path)
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, path / folder, dirs_exist_ok=True)
    (path / "config").mkdir(exist_ok=True)
    config = config or yaml.safe_load(TEST_CONFIG.read_text())
    (path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return path


def snakemake(workdir: Path, *args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result


def planned_jobs(workdir: Path) -> list[tuple[str, dict]]:
    """``(rule, wildcards)`` of every job a dry run plans."""
    output = snakemake(workdir, "--dry-run", "--cores", "2").stdout
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule )", output):
        match = re.match(r"(?:local)?rule (\w+):", block)
        if not match:
            continue
        wildcards = re.search(r"wildcards: (.*)", block)
        pairs = dict(p.split("=", 1) for p in wildcards.group(1).split(", ")) if wildcards else {}
        jobs.append((match.group(1), pairs))
    return jobs


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The test config run through the whole chain, report included."""
    workdir = make_workdir(tmp_path_factory.mktemp("study"))
    snakemake(workdir, "--cores", "2")
    snakemake(workdir, "--report", "results/report.html")
    return workdir


def test_whole_chain_produces_tables_figures_and_report(study):
    runs = pd.read_csv(study / "results/tables/runs.csv")
    line = yaml.safe_load(TEST_CONFIG.read_text())["experiments"]["line"]
    # constant: none + l2×2 strengths; inverse_sqrt: 2 decay rates × (none + 2) — times 2 seeds
    n_line = (3 + 2 * 3) * len(line["seeds"]) * len(line["learning_rate"])
    assert len(runs[runs["experiment"] == "line"]) == n_line
    for column in [
        "experiment", "dataset", "model", "optimizer", "schedule", "decay_rate", "learning_rate",
        "regularization", "strength", "seed", "epochs", "batch_size", "train_loss", "test_mse",
        "test_accuracy", "test_loss", "weight_norm", "diverged", "diverged_epoch", "kernel", "bias",
    ]:  # fmt: skip
        assert column in runs, column
    line_runs = runs[runs["experiment"] == "line"]
    assert line_runs.loc[line_runs["learning_rate"] == 3.0, "diverged"].all()
    assert not line_runs.loc[line_runs["learning_rate"] < 1, "diverged"].any()
    summary = pd.read_csv(study / "results/tables/summary.csv")
    assert summary.groupby("experiment")["selected"].sum().tolist() == [1, 1]
    assert (summary["selected_by"] == "validation_loss").all()
    figures = ["fit", "learning_curves", "learning_rates", "strength_curves", "heatmap"]
    for figure in [f"line/{name}" for name in figures] + ["net/heatmap"]:
        for ext in ("png", "svg"):
            assert (study / f"results/figures/{figure}.{ext}").stat().st_size > 5000
    report = (study / "results/report.html").read_text(errors="replace")
    assert "heatmap" in report and "strength_curves" in report
    claims = pd.read_csv(study / "results/tables/claims.csv")
    # one prediction (decoupled: +1) per optimizer, on its one judged statistic
    assert len(claims) == 2 and set(claims["statistic"]) == {"vertex"}
    assert set(claims["verdict"]) <= {"agrees", "disagrees", "inconclusive", "estimate not valid"}
    assert claims["prediction_first"].astype(str).str.match("yes|no|unknown").all()
    assert "predictions and verdicts" in report and "forest plot of the claims" in report
    assert (study / "results/figures/claims_forest.png").stat().st_size > 5000


def test_runs_table_agrees_with_the_engine_called_directly(study):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    runs = pd.read_csv(study / "results/tables/runs.csv")
    for shard in grid.study_shards(config):
        if (shard.experiment, shard.name) != ("net", "adam"):
            continue
        train, validation, test = data.load_split(study / "data/blobs/split.npz")
        direct = runner.train(shard.as_params(), train, test, validation=validation)
        table = runs[(runs["experiment"] == "net") & (runs["shard"] == shard.name)]
        np.testing.assert_allclose(
            table["train_loss"].to_numpy(), direct.runs["train_loss"].to_numpy(), rtol=1e-6
        )
        engine_test_loss = direct.history.groupby("run")["test_loss"].last().to_numpy()
        np.testing.assert_allclose(table["test_loss"].to_numpy(), engine_test_loss, rtol=1e-4)


def test_second_run_does_nothing(study):
    assert planned_jobs(study) == []


def _shards_trained(workdir):
    return sorted(
        (w["experiment"], w["shard"]) for rule, w in planned_jobs(workdir) if rule == "train_shard"
    )


def test_adding_an_axis_value_retrains_only_the_shards_it_touches(study, tmp_path):
    workdir = tmp_path / "copy"
    shutil.copytree(study, workdir)
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["experiments"]["line"]["schedule"]["decay_rate"].append(0.5)
    make_workdir(workdir, config)
    assert _shards_trained(workdir) == [("line", "sgd")]
    rules = {rule for rule, _ in planned_jobs(workdir)}
    assert rules == {
        "plan_shard",
        "train_shard",
        "aggregate_experiment",
        "aggregate_study",
        "figure",
        "tensorboard_logs",
        "provenance",
        "claims",  # its runs' provenance (trained_commit) is an input of every claim
        "export_model",
        "study",
    }
    assert all(w.get("experiment") in (None, "line") for _, w in planned_jobs(workdir))


def test_a_grown_study_trains_only_its_new_runs_and_equals_a_fresh_one(study, tmp_path):
    """A seed and a λ value added to ``net``: each shard's job reuses every run it had
    (counted from the job's own record) and trains only the new ones; the reused runs are the
    finished study's bit for bit, the new ones within 1e-6 of a fresh run of the grown config
    (docs/store.md); ``decaylab reproduce`` re-trains both batches bit-identically."""
    import json

    workdir = _copy(study, tmp_path)
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["experiments"]["net"]["seeds"] = [0, 1]
    config["experiments"]["net"]["regularization"]["strength"].append(0.1)
    make_workdir(workdir, config)
    snakemake(workdir, "--cores", "2")
    fresh = make_workdir(tmp_path / "fresh", config)
    snakemake(fresh, "--cores", "2", "results/tables/net/runs.csv")
    for shard in ("sgd", "adam"):
        folder = Path("results/net/shards") / shard
        job = json.loads((workdir / folder / "provenance.json").read_text())["job"]
        tables = [pd.read_csv(w / folder / "runs.csv") for w in (study, workdir, fresh)]
        before, grown, again = tables
        assert job == {"reused": len(before), "trained": len(grown) - len(before)}
        assert len(grown) == 2 * 3 * 3 and list(grown["run_key"]) == list(again["run_key"])
        labels = [c for c in grown if c not in runner.METRICS and c != "batch"]
        pd.testing.assert_frame_equal(grown[labels], again[labels])
        reused = grown["run_key"].isin(before["run_key"]).to_numpy()
        old = before.set_index("run_key").loc[grown["run_key"][reused]].reset_index()
        for column in ("train_loss", "validation_loss", "test_loss", "weight_norm"):
            assert old[column].equals(grown.loc[reused, column].reset_index(drop=True)), column
            np.testing.assert_allclose(grown[column], again[column], rtol=1e-6, atol=1e-6)
        params = [np.load(w / folder / "trained.npz") for w in (study, workdir, fresh)]
        where = [list(before["run_key"]).index(k) for k in grown["run_key"][reused]]
        for key in params[1].files:
            assert np.array_equal(params[1][key][reused], params[0][key][where]), key
            np.testing.assert_allclose(params[1][key], params[2][key], rtol=1e-5, atol=1e-5)
    result = decaylab_command(workdir, "reproduce", "net/adam")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert result.stdout.count("re-training batch") == 2
    assert "net/adam: bit-identical (parameters, runs, history)" in result.stdout


def test_adding_an_experiment_runs_only_its_jobs(study, tmp_path):
    workdir = tmp_path / "copy"
    shutil.copytree(study, workdir)
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["experiments"]["extra"] = {**config["experiments"]["line"], "figures": {}}
    make_workdir(workdir, config)
    jobs = planned_jobs(workdir)
    assert {w["experiment"] for rule, w in jobs if "experiment" in w} == {"extra"}
    assert not [rule for rule, _ in jobs if rule in ("generate_data", "split_data")]


def test_changing_a_dataset_reruns_only_what_depends_on_it(study, tmp_path):
    workdir = tmp_path / "copy"
    shutil.copytree(study, workdir)
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["datasets"]["blobs"]["noise"] = 0.3
    make_workdir(workdir, config)
    jobs = planned_jobs(workdir)
    assert [w for rule, w in jobs if rule == "generate_data"] == [{"dataset": "blobs"}]
    assert {w["experiment"] for rule, w in jobs if rule == "train_shard"} == {"net"}


def _copy(study, tmp_path):
    workdir = tmp_path / "copy"
    shutil.copytree(study, workdir, symlinks=True)
    return workdir


def _rerun_message(workdir):
    result = snakemake(workdir, "--cores", "2", check=False)
    assert result.returncode != 0, "a corrupted input went through"
    return result.stdout + result.stderr


def test_a_truncated_experiment_table_is_noticed_with_its_repair(study, tmp_path):
    workdir = _copy(study, tmp_path)
    table = workdir / "results/tables/line/runs.csv"
    lines = table.read_text().splitlines(keepends=True)
    table.write_text("".join(lines[:20]))
    message = _rerun_message(workdir)
    assert "results/tables/line/runs.csv: 19 rows, but the plan has" in message, message[-3000:]
    assert "--forcerun aggregate_experiment" in message
    snakemake(workdir, "--cores", "2", "--forcerun", "aggregate_experiment")
    assert len(pd.read_csv(table)) == len(pd.read_csv(study / "results/tables/line/runs.csv"))


def test_a_truncated_shard_table_is_noticed_with_its_repair(study, tmp_path):
    workdir = _copy(study, tmp_path)
    table = workdir / "results/line/shards/sgd/runs.csv"
    table.write_text("".join(table.read_text().splitlines(keepends=True)[:5]))
    message = _rerun_message(workdir)
    assert "results/line/shards/sgd/runs.csv: 4 rows, but the plan has" in message, message[-3000:]
    assert "--forcerun train_shard" in message


def test_a_truncated_archive_is_named(study, tmp_path):
    workdir = _copy(study, tmp_path)
    archive = workdir / "data/article/split.npz"
    archive.write_bytes(archive.read_bytes()[:300])
    message = _rerun_message(workdir)
    assert "data/article/split.npz: unreadable archive" in message, message[-3000:]
    assert "--forcerun split_data" in message


def test_a_changed_setting_gives_a_short_rerun_reason(study, tmp_path):
    workdir = _copy(study, tmp_path)
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["experiments"]["net"]["learning_rate"] = [0.01, 0.1, 2.0]
    make_workdir(workdir, config)
    output = snakemake(workdir, "--dry-run", "--cores", "2").stdout
    # the jobs that re-run for the changed setting itself (the target rule lists its inputs)
    reasons = [line for line in output.splitlines() if "reason: Params have changed" in line]
    assert reasons and max(len(line) for line in reasons) < 400, max(reasons, key=len)


def test_training_jobs_ask_for_their_threads(tmp_path):
    output = snakemake(make_workdir(tmp_path), "--dry-run", "--cores", "8").stdout
    for block in re.split(r"\n(?=rule )", output):
        if block.startswith("rule train_shard:"):
            threads = re.search(r"threads: (\d+)", block)
            # Snakemake leaves out "threads: 1"
            assert (int(threads.group(1)) if threads else 1) == (
                2 if "experiment=net" in block else 1
            )


def test_the_engine_runs_with_exactly_the_threads_it_is_given():
    code = (
        "from decaylab import data, runner\n"
        "import tensorflow as tf\n"
        "train, _, test = data.split_dataset(data.linear())\n"
        "shard = {'model': {'kind': 'linear'}, 'optimizer': 'sgd', 'epochs': 2,\n"
        "         'batch_size': 32, 'runs': [{}]}\n"
        "runner.train({**shard, **{k: 'x' for k in runner.LABELS if k not in shard}}, train, test,"
        " threads=3)\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["3", "3"]


def test_lint_is_clean():
    result = snakemake(REPO, "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_default_config_plans_the_full_study(tmp_path):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    workdir = make_workdir(tmp_path, config)
    trained = _shards_trained(workdir)
    expected = sorted((s.experiment, s.name) for s in grid.study_shards(config))
    # a shard per optimizer, training-set size and budget of each experiment: schedule and
    # regularization kinds and every other number are per run
    per_experiment = [
        len(grid.as_list(e.get("optimizer", "sgd")))
        * len(grid.as_list(e.get("train_size", [0])))
        * len(grid.as_list(e["epochs"]))
        for e in config["experiments"].values()
    ]
    assert trained == expected and len(expected) == sum(per_experiment)


def test_the_report_opens_in_chromium_with_every_figure_and_table(study):
    """Headless Chromium renders ``results/report.html``: every figure, summary, slopes and
    claims table is in it, the home page describes each experiment, and the page logs no
    JavaScript error."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Chromium is needed (Debian: apt-get install chromium; .ci/run installs it)"
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=15000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            str(study / "results/report.html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    page = result.stdout
    for figure in sorted((study / "results/figures").glob("*/*.png")):
        assert f"{figure.parent.name}/{figure.name}" in page, figure
    for experiment in ("line", "net"):  # tables as pages of the report, not downloads
        assert f"results/tables/{experiment}/summary.html" in page, experiment
    assert "results/tables/net/slopes.html" in page
    assert "results/tables/claims.html" in page
    assert "selects its setting on the" in page  # the home page's description
    errors = [
        line
        for line in result.stderr.splitlines()
        if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line)
    ]
    assert not errors, "\n".join(errors)


def test_tensorboard_shows_every_run_with_its_settings_metrics_and_history(study):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    runs = pd.read_csv(study / "results/tables/net/runs.csv")
    root = study / "results/tensorboard/net"
    trials = sorted(p.parent for p in root.glob("*/run*/events.out.tfevents.*"))
    assert len(trials) == len(runs)
    top = EventAccumulator(str(root))
    top.Reload()
    config = plugin_data_pb2.HParamsPluginData.FromString(
        top.PluginTagToContent("hparams")["_hparams_/experiment"]
    ).experiment
    assert {"learning_rate", "strength", "optimizer", "seed"} <= {
        h.name for h in config.hparam_infos
    }
    assert "validation_loss" in {m.name.tag for m in config.metric_infos}
    row = runs.iloc[-1]
    trial = EventAccumulator(str(root / row["shard"] / f"run{int(row['run']):04d}"))
    trial.Reload()
    session = plugin_data_pb2.HParamsPluginData.FromString(
        trial.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    ).session_start_info
    assert session.hparams["learning_rate"].number_value == pytest.approx(row["learning_rate"])
    assert session.hparams["optimizer"].string_value == row["shard"]
    history = trial.Scalars("test_loss")
    assert len(history) > 1 and history[-1].step == row["epochs"]
    assert history[-1].value == pytest.approx(row["test_loss"], rel=1e-6)


def test_every_run_names_the_provenance_it_was_trained_under(study):
    import json

    runs = pd.read_csv(study / "results/tables/runs.csv")
    recorded = json.loads((study / "results/provenance.json").read_text())
    assert set(runs["provenance"]) == set(recorded["records"])
    assert set(recorded["shards"]) == {"line/sgd", "net/sgd", "net/adam"}
    for record in recorded["records"].values():
        for field in ("decaylab", "commit", "uncommitted_changes", "python", "numpy", "keras",
                      "backend", "device", "cpu", "dtype", "threads"):  # fmt: skip
            assert field in record, field
        assert record[record["backend"]]  # the backend's own version
    report = (study / "results/report.html").read_text(errors="replace")
    assert "what trained each shard" in report


def decaylab_command(workdir, *args):
    return subprocess.run(
        [sys.executable, "-m", "decaylab.cli", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_reproduce_retrains_shards_bit_identical(study):
    result = decaylab_command(study, "reproduce", "line/sgd", "net/adam")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert result.stdout.count("bit-identical (parameters, runs, history)") == 2


def test_reproduce_names_what_differs_and_the_changed_versions(study, tmp_path):
    import json

    workdir = tmp_path / "copy"
    shutil.copytree(study, workdir)
    folder = workdir / "results/net/shards/adam"
    recorded = json.loads((folder / "provenance.json").read_text())
    (record,) = recorded["records"].values()
    record["numpy"] = "0.0.0"  # as if trained under another NumPy
    (folder / "provenance.json").write_text(json.dumps(recorded))
    with np.load(folder / "trained.npz") as stored:
        arrays = dict(stored)
    arrays["layer0/kernel"] = np.nextafter(arrays["layer0/kernel"], np.inf)  # one ulp
    np.savez(folder / "trained.npz", **arrays)
    result = decaylab_command(workdir, "reproduce", "net/adam")
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert "net/adam: NOT bit-identical: parameters layer0/kernel" in result.stdout
    assert f"numpy: 0.0.0 → {recorded_numpy()}" in result.stdout
    unknown = decaylab_command(workdir, "reproduce", "net/nothing")
    assert unknown.returncode == 2 and "net/nothing: no trained shard" in unknown.stderr


def recorded_numpy():
    from importlib import metadata

    return metadata.version("numpy")


def test_the_selected_model_loads_in_keras_without_decaylab(study):
    import json

    described = json.loads((study / "results/models/net/selected.json").read_text())
    summary = pd.read_csv(study / "results/tables/net/summary.csv")
    chosen = summary[summary["selected"]].iloc[0]
    assert described["settings"]["learning_rate"] == chosen["learning_rate"]
    assert described["seed"] == 0
    script = (
        "import sys; sys.modules['decaylab'] = None\n"  # importing decaylab would fail
        "import numpy as np, keras\n"
        "model = keras.saving.load_model('results/models/net/selected.keras')\n"
        "x = np.load('data/blobs/split.npz')['x_test'].astype('float32')\n"
        "np.save(sys.argv[1], model.predict(x, verbose=0))\n"
    )
    out = study / "keras_predictions.npy"
    subprocess.run([sys.executable, "-c", script, str(out)], cwd=study, check=True, timeout=300)
    from decaylab import models

    train, validation, test = data.load_split(study / "data/blobs/split.npz")
    shard = json.loads(
        (study / "results/net/shards" / described["shard"] / "spec.json").read_text()
    )
    stacked = models.load_params(study / "results/net/shards" / described["shard"] / "trained.npz")
    parameters, statistics = models.split_statistics(
        [
            {k: v[[described["run"]]].astype("float32") for k, v in layer.items()}
            for layer in stacked
        ]
    )
    spec = runner.model_spec(shard)
    engine = np.asarray(
        models.apply(spec, parameters, models.features(spec, test.x)[None].astype("float32"))
    )[0]
    np.testing.assert_allclose(np.load(out), engine, atol=1e-5)


def test_a_folder_the_study_cannot_write_stops_it_before_any_job(tmp_path):
    workdir = make_workdir(tmp_path / "study")
    (workdir / "results").write_text("a file where the results folder should be")
    result = snakemake(workdir, "--cores", "2", check=False)
    assert result.returncode != 0
    assert "the study cannot write its outputs, nothing was run" in result.stderr
    assert "results/ — make it writable" in result.stderr
    assert not (workdir / "data").exists(), "a job ran"


def test_another_configfile_says_it_replaces_the_study_wide_outputs(study, tmp_path):
    workdir = _copy(study, tmp_path)
    other = yaml.safe_load(TEST_CONFIG.read_text())
    other["experiments"] = {"alone": other["experiments"]["line"]}
    other["experiments"]["alone"]["figures"] = {}
    (workdir / "other.yaml").write_text(yaml.safe_dump(other))
    output = snakemake(workdir, "--dry-run", "--cores", "2", "--configfile", "other.yaml")
    said = output.stdout + output.stderr
    assert "hold the study of another config (experiments line, net)" in said
    assert "replaces them with this config's (alone)" in said
    same = snakemake(workdir, "--dry-run", "--cores", "2", "--configfile", "config/config.yaml")
    assert "another config" not in same.stdout + same.stderr
