rule figure:
    input:
        unpack(figure_inputs),
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
        options=figure_options,
        settings=figure_settings,
        planned_runs=lambda w, input: (
            planned_runs(w.experiment) if "runs" in input.keys() else None
        ),
        caption=lambda w: figures.caption(
            w.figure, w.experiment, experiment_of(w), figure_options(w)
        ),
    script:
        "../scripts/figure.py"
