"""A sweep's `gains:` section: named comparisons, each two filters over run fields.

Parsed when the sweep is loaded (so a typo fails before anything runs) and used by icl.analysis.gains
after it ran; this module depends on nothing else in icl, so both can import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from icl.errors import ConfigError

_KEYS = {"name", "baseline", "system", "family"}


@dataclass(frozen=True)
class Comparison:
    """A named pair of run filters: `system` runs are compared with the `baseline` run that agrees
    with them on every field neither filter names."""

    name: str
    baseline: Mapping[str, Any]
    system: Mapping[str, Any]
    family: str = ""
    """The family its rows are corrected in (with one metric): rows of comparisons that name the same family
    share one Holm correction; '' is the sweep's default family, every comparison that names none."""


def spelled_as_saved(key: str, value: Any) -> Any:
    """A filter value as spec.json writes it: YAML 1.1 reads the natural `morph: off` as a boolean,
    while spec.json says "on"/"off"."""
    if key == "morph" and isinstance(value, bool):
        return "on" if value else "off"
    return value


def parse_comparisons(raw: Any, where: str, fields: Sequence[str]) -> list[Comparison]:
    """Check a `gains:` section (list of {name, baseline, system[, family]}); names the bad key."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: gains: expected a non-empty list of {{name, baseline, system}}")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not {"name", "baseline", "system"} <= set(item) <= _KEYS:
            raise ConfigError(f"{where}: gains[{i}]: expected the keys name, baseline, system (and optionally family)")
        family = item.get("family", "")
        if not isinstance(family, str):
            raise ConfigError(f"{where}: gains[{i}].family: expected a name")
        for side in ("baseline", "system"):
            filt = item[side]
            if not isinstance(filt, Mapping) or not filt:
                raise ConfigError(f"{where}: gains[{i}].{side}: expected a mapping of run fields to values")
            for key in filt:
                if key not in fields:
                    raise ConfigError(f"{where}: gains[{i}].{side}.{key}: not a run field (known: {', '.join(fields)})")
        base, system = ({k: spelled_as_saved(k, v) for k, v in item[side].items()} for side in ("baseline", "system"))
        out.append(Comparison(str(item["name"]), base, system, family))
    return out
