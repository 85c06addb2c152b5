rule figure:
    input:
        runs=rules.aggregate_experiment.output.runs,
        summary=rules.aggregate_experiment.output.summary,
        history=rules.aggregate_experiment.output.history,
        curves=rules.aggregate_experiment.output.curves,
        split=lambda w: f"data/{experiment_of(w)['dataset']}/split.npz",
        optimum=optimum_tables,
    output:
        png=report(
            "results/figures/{experiment}/{figure}.png",
            caption="../report/figure.rst",
            category="{experiment}",
            labels={"experiment": "{experiment}", "figure": "{figure}"},
        ),
        svg="results/figures/{experiment}/{figure}.svg",
    log:
        "logs/figure/{experiment}/{figure}.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        options=lambda w: figure_options(w),
        planned_runs=lambda w: planned_runs(w.experiment),
        model=lambda w: experiment_of(w)["model"],
        source=lambda w: {
            "generator": config["datasets"][experiment_of(w)["dataset"]]["generator"],
            **grid.source_options(config["datasets"][experiment_of(w)["dataset"]]),
        },
    script:
        "../scripts/figure.py"
