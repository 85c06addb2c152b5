"""decaylab, run from the repository's root: `snakemake --cores 8`. The workflow itself is
workflow/Snakefile, which other projects use as a Snakemake module (docs/reproducibility.md).
"""


include: "workflow/Snakefile"


# an included file's default target does not carry over to the file that includes it
rule study:
    default_target: True
    input:
        rules.all.input,
