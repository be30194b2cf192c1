"""The data step: declared data sets (icl/resources/datasets/*.yaml and a sweep's own) read into
`Example`s, a run's test items and demonstration pool (`load_run`), and label inventories.

Modules (the `Example` and `LabelSet` they make live in icl.values): `declaration` (YAML -> DatasetSpec, the registry), `readers` (one
function per file format), `load` (DatasetSpec -> Examples).
"""

from icl.data.declaration import DatasetSpec, Registry, builtin_registry, load_declarations, parse_declaration
from icl.data.load import (
    RunData,
    has_file,
    label_set,
    load_examples,
    load_flores,
    load_massive,
    load_ntrex,
    load_run,
    load_text,
    resolve_pool,
)
from icl.data.readers import read_lines

__all__ = [
    "DatasetSpec", "Registry", "RunData", "builtin_registry", "has_file", "label_set",
    "load_declarations", "load_examples", "load_flores", "load_massive", "load_ntrex", "load_run", "load_text",
    "parse_declaration", "read_lines", "resolve_pool",
]

