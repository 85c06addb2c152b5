"""decaylab: learning-rate decay and weight decay / L2 regularization, from config to report."""

import os

import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from decaylab import checks, tables

min_version("9.0")


report: "workflow/report/workflow.rst"


# `--configfile my.yaml` runs the study in my.yaml alone (Snakemake would merge it into this one)
if not workflow.overwrite_configfiles:
    YAML_PROBLEMS = checks.file_problems("config/config.yaml")
    if YAML_PROBLEMS:  # Snakemake's own message would not name the file and line
        raise WorkflowError("invalid config: " + "\n  ".join(YAML_PROBLEMS))

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        rules.aggregate_study.output,
        figure_targets(),
        expand(rules.tensorboard_logs.output.logs, experiment=EXPERIMENTS),


onsuccess:
    if os.path.exists("results/tables/summary.csv"):
        print(
            "\nWhat the study selected (on validation; test reported, mean ± 95 % CI):"
        )
        print(tables.findings(pd.read_csv("results/tables/summary.csv")))
        print(
            "Tables: results/tables/   figures: results/figures/   report: "
            "snakemake --report results/report.html"
        )
