"""The sweep step: a YAML file -> frozen `RunSpec`s (icl.spec), one per combination (`load`), checked key
by key (`validate`), with the file's `gains:` comparisons (`comparisons`). This package's `__init__`
imports nothing (use `icl.sweep.load.load_sweep`)."""
