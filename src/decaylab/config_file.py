"""A config file read as YAML: unreadable, malformed, or a key given twice (no backend).

Snakemake reads a config file with a loader that keeps the last of a key given twice; the
workflow reads each file once more with :class:`DuplicateKeyLoader` to refuse it, naming the
file and both lines.
"""

from __future__ import annotations

import yaml

FastSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""YAML's safe loader, parsed by libyaml where PyYAML has it (several times faster: the config
and the schema are read at every start of the workflow)."""


class DuplicateKeyLoader(FastSafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML keeps the last)."""


def _no_duplicates(loader, node, deep=False):
    """The mapping of ``node``, or a ConstructorError naming the key given twice and its lines."""
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice (line {seen[key]} and line "
                f"{key_node.start_mark.line + 1})", key_node.start_mark,
            )  # fmt: skip
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep)


DuplicateKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def problems(path) -> list[str]:
    """Problems of a config file as YAML: unreadable, malformed, or a key given twice; an empty
    list for a sound file. Each line starts with the file's path."""
    try:
        with open(path) as stream:
            yaml.load(stream, Loader=DuplicateKeyLoader)  # noqa: S506 - a safe loader
    except OSError as error:
        return [f"{path}: cannot be read ({error.strerror})"]
    except yaml.YAMLError as error:
        return [f"{path}: {' '.join(str(error).split())}"]
    return []
