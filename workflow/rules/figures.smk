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
    "source": lambda experiment: {
        "generator": config["datasets"][experiment["dataset"]]["generator"],
        **grid.source_options(config["datasets"][experiment["dataset"]]),
    },
}


def figure_inputs(wildcards):
    """The inputs the figure's kind declares (and the optional ones the experiment makes)."""
    experiment = experiment_of(wildcards)
    names = figures.inputs_of(wildcards.figure, experiment["figures"])
    return {
        name: FIGURE_INPUTS[name].format(
            experiment=wildcards.experiment, dataset=experiment["dataset"]
        )
        for name in names
    }


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
        planned_runs=lambda w: planned_runs(w.experiment),
        caption=lambda w: figures.caption(
            w.figure, w.experiment, experiment_of(w), figure_options(w)
        ),
    script:
        "../scripts/figure.py"
