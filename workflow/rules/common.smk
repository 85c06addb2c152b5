import argparse
import json
import math
import os
import sys

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

from decaylab import checks, config_file, data_facts, files, grid, memory


def command_line_configfiles(argv):
    """The files given to ``--configfile``/``--configfiles``. Snakemake reads them with a YAML
    loader that keeps the last of a key given twice, so they are checked here too (files named
    in a profile are not: Snakemake does not say which files it read)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--configfile", "--configfiles", nargs="+", action="extend")
    return parser.parse_known_args(argv)[0].configfile or []


CONFIGFILES = command_line_configfiles(sys.argv[1:])
SCHEMA = workflow.source_path("../schemas/config.schema.yaml")
with open(SCHEMA) as schema_file:
    PROBLEMS = [
        problem for path in CONFIGFILES for problem in config_file.problems(path)
    ] or checks.problems(config, yaml.load(schema_file, config_file.FastSafeLoader))
if PROBLEMS:
    raise WorkflowError(
        f"invalid config: {len(PROBLEMS)} problem(s), nothing was run:\n  "
        + "\n  ".join(PROBLEMS)
    )
validate(config, SCHEMA)  # fills the defaults of the schema
UNWRITABLE = (
    []
    if workflow.dryrun
    else files.writable_problems(["results", "data", "logs", config["run_store"]])
)
if UNWRITABLE:
    raise WorkflowError(
        "the study cannot write its outputs, nothing was run:\n  "
        + "\n  ".join(UNWRITABLE)
    )

SHARDS = {(s.experiment, s.name): s for s in memory.study_blocks(config)}
EXPERIMENTS = list(config["experiments"])
CLAIMING_EXPERIMENTS = [e for e in EXPERIMENTS if "expect" in config["experiments"][e]]
if CONFIGFILES:  # `--configfile`: say so before it replaces another study
    REPLACED = files.replaced_study(EXPERIMENTS)
    if REPLACED:
        logger.warning(f"Note: {REPLACED}")


# cheap jobs run where Snakemake runs, also when the others go to a cluster
localrules:
    all,
    plan_shard,
    generate_data,
    split_data,
    aggregate_experiment,
    aggregate_study,
    claims,
    refine_grid,
    equilibrium_slope,
    provenance,
    figure,
    tensorboard_logs,
    export_model,


wildcard_constraints:
    dataset=r"[A-Za-z0-9_]+",
    experiment=r"[A-Za-z0-9_]+",
    shard=r"[A-Za-z0-9_]+",
    figure=r"[a-z_]+",


def shard_of(wildcards):
    """The shard named by the job's wildcards: of the config's grid, or of a refinement round
    (``SHARD_round{r}``, planned by that round's checkpoint)."""
    round_ = grid.round_of(wildcards.shard)
    if not round_:
        return SHARDS[(wildcards.experiment, wildcards.shard)]
    # read where the plan is (a job's own process, where Snakemake's checkpoints are not
    # queried outside input functions), else through the checkpoint, which defers the job
    planned = ROUND_PLAN.format(experiment=wildcards.experiment, round=round_)
    if os.path.exists(planned):
        with open(planned) as plan:
            spec = json.load(plan)["shards"][wildcards.shard]
    else:
        spec = round_specs(wildcards.experiment, round_)[wildcards.shard]
    settings = {
        k: v for k, v in spec.items() if k not in ("experiment", "shard", "runs")
    }
    return grid.Shard(spec["experiment"], spec["shard"], settings, spec["runs"])


ROUND_PLAN = "results/{experiment}/refine/round{round}.json"
"""Where refinement round ``round`` of ``experiment`` is planned (``refine_grid``'s output)."""


def rounds_of(experiment):
    """How many refinement rounds ``experiment`` declares (``refine.rounds``; 0 without)."""
    return config["experiments"][experiment].get("refine", {}).get("rounds", 0)


def round_plan(experiment, round_):
    """The file refinement round ``round_`` of ``experiment`` is planned in (its checkpoint's
    output: Snakemake runs the checkpoint first where it has not run)."""
    return checkpoints.refine_grid.get(
        experiment=experiment, round=str(round_)
    ).output.plan


def least_decay(wildcards):
    """The cumulative decay a λ* claim's rows must reach (``expect.slope.gates.decay``; None)."""
    slope = experiment_of(wildcards).get("expect", {}).get("slope", {})
    return slope.get("gates", {}).get("decay")


def round_specs(experiment, round_):
    """The specs of refinement round ``round_``'s training jobs, by shard name."""
    with open(round_plan(experiment, round_)) as plan:
        return json.load(plan)["shards"]


def round_plans(experiment):
    """The plan files of every refinement round of ``experiment``."""
    return [round_plan(experiment, r) for r in range(1, rounds_of(experiment) + 1)]


def write_spec(shard, path):
    """A shard's spec as JSON, atomically (the training job's input)."""
    with files.atomic(path) as temporary:
        temporary.write_text(json.dumps(shard.as_params(), indent=1, sort_keys=True))


def planned_runs(experiment):
    """How many runs the plan has for ``experiment``, its refinement rounds' included."""
    grown = sum(len(spec["runs"]) for r in range(1, rounds_of(experiment) + 1)
                for spec in round_specs(experiment, r).values())  # fmt: skip
    return grown + sum(
        len(s.runs) for (exp, _), s in SHARDS.items() if exp == experiment
    )


def shard_names(experiment, rounds=None):
    """The training jobs' shards of ``experiment``: the config's grid, then those of its
    refinement rounds 1 … ``rounds`` (all it declares by default)."""
    names = [name for (exp, name) in SHARDS if exp == experiment]
    for r in range(1, (rounds_of(experiment) if rounds is None else rounds) + 1):
        names += list(round_specs(experiment, r))
    return names


def shard_files(experiment, name, rounds=None):
    """File ``name`` (``runs.csv`` …) of every shard of :func:`shard_names`."""
    return [
        f"results/{experiment}/shards/{shard}/{name}"
        for shard in shard_names(experiment, rounds)
    ]


def source_file(wildcards):
    """The user's file a data set reads, so that editing it re-runs what depends on it."""
    dataset = config["datasets"][wildcards.dataset]
    return [dataset["path"]] if dataset["generator"] == "file" else []


from decaylab import figures

FIGURE_INPUTS = {  # every input a figure kind may declare (decaylab.figures.KINDS)
    "runs": "results/tables/{experiment}/runs.csv",
    "summary": "results/tables/{experiment}/summary.csv",
    "history": "results/tables/{experiment}/history.csv",
    "curves": "results/tables/{experiment}/curves.csv",
    "optima": "results/tables/{experiment}/optima.csv",
    "slopes": "results/tables/{experiment}/slopes.csv",
    "equilibrium_slope": "results/tables/{experiment}/equilibrium.csv",
    "split": "data/{dataset}/split.npz",
}
FIGURE_SETTINGS = {  # the experiment settings a figure kind may take as options
    "expect": lambda experiment: experiment.get("expect"),
    "model": lambda experiment: experiment["model"],
    "select": lambda experiment: experiment["select"],
    "source": lambda experiment: {
        "generator": config["datasets"][experiment["dataset"]]["generator"],
        **grid.source_options(config["datasets"][experiment["dataset"]]),
    },
}


def figure_inputs(wildcards):
    """The inputs the figure's kind declares (and the optional ones the experiment makes)."""
    experiment = experiment_of(wildcards)
    names = figures.inputs_of(wildcards.figure, experiment["figures"])
    found = {
        name: FIGURE_INPUTS[name].format(
            experiment=wildcards.experiment, dataset=experiment["dataset"]
        )
        for name in names
    }
    # the refinement rounds' plans say how many runs the experiment's tables hold
    return found | (
        {"plans": round_plans(wildcards.experiment)} if "runs" in found else {}
    )


def figure_options(wildcards):
    """A figure's options as configured (``true`` means the defaults: none)."""
    wanted = experiment_of(wildcards)["figures"][wildcards.figure]
    return dict(wanted) if isinstance(wanted, dict) else {}


def figure_settings(wildcards):
    """The experiment settings the figure's kind takes as options (those the config has)."""
    experiment = experiment_of(wildcards)
    found = {
        name: FIGURE_SETTINGS[name](experiment)
        for name in figures.kind_of(wildcards.figure).settings
    }
    return {name: value for name, value in found.items() if value is not None}


def claim_table(experiment):
    """An experiment's judged claims: of its λ* slopes, or of its equilibrium."""
    name = (
        "claims"
        if "slope" in config["experiments"][experiment]["expect"]
        else "equilibrium_claims"
    )
    return f"results/tables/{experiment}/{name}.csv"


def experiment_of(wildcards):
    return config["experiments"][wildcards.experiment]


MEMORY_HEADROOM = 1.5
"""What a training job asks for (a cluster kills a job above it), over the memory check's
estimate (within 0.92-1.00 of the measured peak on six shapes, benchmarks/shard_memory.py)."""


def memory_request(wildcards):
    """The training job's memory in MB: its shard's estimate with :data:`MEMORY_HEADROOM`."""
    shard = shard_of(wildcards)
    name = shard.settings["dataset"]
    _, facts = data_facts.of(name, config["datasets"][name])
    return math.ceil(MEMORY_HEADROOM * memory.shard_peak(shard, facts) / 1e6)


def gpu_request(wildcards):
    """1 for experiments that run on a GPU (``device: gpu``), else 0."""
    return int(experiment_of(wildcards).get("device", "cpu") == "gpu")


def selected_models():
    """The Keras file of each experiment's selected run (experiments that select)."""
    return [
        f"results/models/{experiment}/selected.keras"
        for experiment, settings in config["experiments"].items()
        if settings["select"] != "none"
    ]


def figure_targets():
    targets = []
    for experiment, settings in config["experiments"].items():
        for figure, wanted in settings.get("figures", {}).items():
            if wanted:
                targets += expand(
                    "results/figures/{experiment}/{figure}.{ext}",
                    experiment=experiment,
                    figure=figure,
                    ext=["png", "svg"],
                )
    return targets
