rule plan_shard:
    input:
        # a refinement round's shard is planned by that round's checkpoint
        plan=lambda w: (
            round_plan(w.experiment, grid.round_of(w.shard))
            if grid.round_of(w.shard)
            else []
        ),
    output:
        spec="results/{experiment}/shards/{shard}/spec.json",
    log:
        "logs/plan_shard/{experiment}/{shard}.log",
    params:
        # a digest keeps Snakemake's rerun reason short; the spec itself is the file
        digest=lambda w: shard_of(w).digest(),
    run:
        write_spec(shard_of(wildcards), output.spec)


rule train_shard:
    input:
        spec=rules.plan_shard.output.spec,
        split=lambda w: f"data/{shard_of(w).settings['dataset']}/split.npz",
    output:
        trained="results/{experiment}/shards/{shard}/trained.npz",
        runs="results/{experiment}/shards/{shard}/runs.csv",
        history="results/{experiment}/shards/{shard}/history.csv",
        curves="results/{experiment}/shards/{shard}/curves.csv",
        provenance="results/{experiment}/shards/{shard}/provenance.json",
    log:
        "logs/train_shard/{experiment}/{shard}.log",
    benchmark:
        "results/benchmarks/train_shard/{experiment}/{shard}.tsv"
    conda:
        "../envs/decaylab.yaml"
    threads: lambda w: experiment_of(w).get("threads", 1)
    resources:
        mem_mb=memory_request,
        runtime=30,
        gpu=gpu_request,
    script:
        "../scripts/train_shard.py"
