rule aggregate_experiment:
    input:
        specs=lambda w: shard_files(w.experiment, "spec.json"),
        runs=lambda w: shard_files(w.experiment, "runs.csv"),
        histories=lambda w: shard_files(w.experiment, "history.csv"),
        curves=lambda w: shard_files(w.experiment, "curves.csv"),
    output:
        runs="results/tables/{experiment}/runs.csv",
        summary="results/tables/{experiment}/summary.csv",
        page=report(
            "results/tables/{experiment}/summary.html",
            caption="../report/summary.rst",
            category="{experiment}",
            labels={"experiment": "{experiment}", "figure": "summary table"},
        ),
        history="results/tables/{experiment}/history.csv",
        curves="results/tables/{experiment}/curves.csv",
    log:
        "logs/aggregate_experiment/{experiment}.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        select=lambda w: experiment_of(w)["select"],
    script:
        "../scripts/aggregate_experiment.py"


rule aggregate_study:
    input:
        runs=expand("results/tables/{experiment}/runs.csv", experiment=EXPERIMENTS),
        summaries=expand(
            "results/tables/{experiment}/summary.csv", experiment=EXPERIMENTS
        ),
        plans=lambda w: [plan for e in EXPERIMENTS for plan in round_plans(e)],
    output:
        runs="results/tables/runs.csv",
        summary="results/tables/summary.csv",
    log:
        "logs/aggregate_study.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        planned_runs=lambda w: [planned_runs(e) for e in EXPERIMENTS],
    script:
        "../scripts/aggregate_study.py"


rule tensorboard_logs:
    input:
        runs=rules.aggregate_experiment.output.runs,
        history=rules.aggregate_experiment.output.history,
    output:
        logs=directory("results/tensorboard/{experiment}"),
    log:
        "logs/tensorboard_logs/{experiment}.log",
    conda:
        "../envs/decaylab.yaml"
    script:
        "../scripts/tensorboard_logs.py"


rule optimum_slopes:
    input:
        runs=rules.aggregate_experiment.output.runs,
        split=lambda w: f"data/{experiment_of(w)['dataset']}/split.npz",
    output:
        optima="results/tables/{experiment}/optima.csv",
        slopes="results/tables/{experiment}/slopes.csv",
        claims="results/tables/{experiment}/claims.csv",
        page=report(
            "results/tables/{experiment}/slopes.html",
            caption="../report/slopes.rst",
            category="{experiment}",
            labels={"experiment": "{experiment}", "figure": "λ* slopes table"},
        ),
    log:
        "logs/optimum_slopes/{experiment}.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        x=lambda w: experiment_of(w)["figures"]["optimum"]["x"],
        select=lambda w: experiment_of(w)["select"],
        expect=lambda w: experiment_of(w).get("expect", {}),
    script:
        "../scripts/optimum_slopes.py"


rule equilibrium_slope:
    input:
        runs=rules.aggregate_experiment.output.runs,
    output:
        slope="results/tables/{experiment}/equilibrium.csv",
        claims="results/tables/{experiment}/equilibrium_claims.csv",
    log:
        "logs/equilibrium_slope/{experiment}.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        expect=lambda w: experiment_of(w).get("expect", {}),
    script:
        "../scripts/equilibrium_slope.py"


rule claims:
    input:
        claims=[claim_table(e) for e in CLAIMING_EXPERIMENTS],
        provenance="results/provenance.json",
    output:
        claims="results/tables/claims.csv",
        page=report(
            "results/tables/claims.html",
            caption="../report/claims.rst",
            category="claims",
            labels={"figure": "predictions and verdicts"},
        ),
        forest=report(
            "results/figures/claims_forest.png",
            caption="../report/claims_forest.rst",
            category="claims",
            labels={"figure": "forest plot of the claims"},
        ),
        forest_svg="results/figures/claims_forest.svg",
    log:
        "logs/claims.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        config_files=CONFIGFILES or ["config/config.yaml"],
    script:
        "../scripts/claims.py"


rule provenance:
    input:
        shards=lambda w: [
            path for e in EXPERIMENTS for path in shard_files(e, "provenance.json")
        ],
    output:
        records="results/provenance.json",
        table=report(
            "results/provenance.html",
            caption="../report/provenance.rst",
            category="provenance",
            labels={"figure": "what trained each shard"},
        ),
    log:
        "logs/provenance.log",
    conda:
        "../envs/decaylab.yaml"
    script:
        "../scripts/provenance.py"


rule export_model:
    input:
        runs=rules.aggregate_experiment.output.runs,
        summary=rules.aggregate_experiment.output.summary,
        trained=lambda w: shard_files(w.experiment, "trained.npz"),
        split=lambda w: f"data/{experiment_of(w)['dataset']}/split.npz",
    output:
        model="results/models/{experiment}/selected.keras",
        description="results/models/{experiment}/selected.json",
    log:
        "logs/export_model/{experiment}.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        shards=lambda w: f"results/{w.experiment}/shards",
    script:
        "../scripts/export_model.py"
