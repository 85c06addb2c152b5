rule generate_data:
    input:
        source_file,
    output:
        dataset="data/{dataset}/generated.npz",
    log:
        "logs/generate_data/{dataset}.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        options=lambda w: {
            "generator": config["datasets"][w.dataset]["generator"],
            **grid.source_options(config["datasets"][w.dataset]),
        },
    script:
        "../scripts/generate_data.py"


rule split_data:
    input:
        dataset=rules.generate_data.output.dataset,
    output:
        split="data/{dataset}/split.npz",
    log:
        "logs/split_data/{dataset}.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        split=lambda w: grid.split_options(config["datasets"][w.dataset]),
    script:
        "../scripts/split_data.py"
