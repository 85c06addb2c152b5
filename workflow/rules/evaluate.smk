rule evaluate_shard:
    input:
        split=rules.train_shard.input.split,
        trained=rules.train_shard.output.trained,
        training=rules.train_shard.output.training,
    output:
        runs="results/{experiment}/shards/{shard}/runs.csv",
        curves="results/{experiment}/shards/{shard}/curves.csv",
    log:
        "logs/evaluate_shard/{experiment}/{shard}.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        shard=lambda w: shard_of(w).as_params(),
    script:
        "../scripts/evaluate_shard.py"


rule aggregate_experiment:
    input:
        runs=lambda w: expand(
            "results/{{experiment}}/shards/{shard}/runs.csv",
            shard=shard_names(w.experiment),
        ),
        histories=lambda w: expand(
            "results/{{experiment}}/shards/{shard}/history.csv",
            shard=shard_names(w.experiment),
        ),
        curves=lambda w: expand(
            "results/{{experiment}}/shards/{shard}/curves.csv",
            shard=shard_names(w.experiment),
        ),
    output:
        runs="results/tables/{experiment}/runs.csv",
        summary="results/tables/{experiment}/summary.csv",
        history="results/tables/{experiment}/history.csv",
        curves="results/tables/{experiment}/curves.csv",
    log:
        "logs/aggregate_experiment/{experiment}.log",
    conda:
        "../envs/decaylab.yaml"
    script:
        "../scripts/aggregate_experiment.py"


rule aggregate_study:
    input:
        runs=expand("results/tables/{experiment}/runs.csv", experiment=EXPERIMENTS),
    output:
        runs="results/tables/runs.csv",
        summary="results/tables/summary.csv",
    log:
        "logs/aggregate_study.log",
    conda:
        "../envs/decaylab.yaml"
    script:
        "../scripts/aggregate_study.py"
