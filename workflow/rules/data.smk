rule generate_data:
    output:
        dataset="data/{dataset}/generated.npz",
    log:
        "logs/generate_data/{dataset}.log",
    conda:
        "../envs/decaylab.yaml"
    params:
        options=lambda w: {
            k: v for k, v in config["datasets"][w.dataset].items() if k != "split"
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
        split=lambda w: config["datasets"][w.dataset]["split"],
    script:
        "../scripts/split_data.py"
