rule generate_data:
    output:
        dataset="data/{dataset}/generated.npz",
    params:
        options=lambda w: {
            k: v for k, v in config["datasets"][w.dataset].items() if k != "split"
        },
    log:
        "logs/generate_data/{dataset}.log",
    script:
        "../scripts/generate_data.py"


rule split_data:
    input:
        dataset=rules.generate_data.output.dataset,
    output:
        split="data/{dataset}/split.npz",
    params:
        split=lambda w: config["datasets"][w.dataset]["split"],
    log:
        "logs/split_data/{dataset}.log",
    script:
        "../scripts/split_data.py"
