"""The sweep step: a YAML file -> frozen `RunSpec`s, one per combination (`load`), from the values in
`spec`, checked key by key (`validate`), with the file's `gains:` comparisons (`comparisons`).

Kept light on purpose: every later step imports `icl.sweep.spec`, so this package's `__init__` imports
nothing (use `icl.sweep.load.load_sweep`)."""
