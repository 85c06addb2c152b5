checkpoint refine_grid:
    input:
        specs=lambda w: shard_files(w.experiment, "spec.json", int(w.round) - 1),
        runs=lambda w: shard_files(w.experiment, "runs.csv", int(w.round) - 1),
    output:
        plan=ROUND_PLAN,
        rows="results/{experiment}/refine/round{round}.csv",
    log:
        "logs/refine_grid/{experiment}/round{round}.log",
    wildcard_constraints:
        round=r"[1-9][0-9]*",
    conda:
        "../envs/decaylab.yaml"
    params:
        # not the number of rounds: raising it plans only the new rounds
        points=lambda w: experiment_of(w)["refine"]["points"],
        select=lambda w: experiment_of(w)["select"],
        # placed on the λ the judged estimator keeps: those reaching the claim's decay gate
        least_decay=least_decay,
    script:
        "../scripts/refine_grid.py"
