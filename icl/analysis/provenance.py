"""Whether the two runs of each comparison were made the same way: their provenance.json files compared
(icl.run.provenance writes them), for the "Provenance warnings" of gains.md and the report.

A comparison means to change what its filters name and nothing else. Its two runs' specs already differ
only there (icl.analysis.gains pairs them so); what a spec does not show is compared here: icl's version,
commit and code, Python's and the libraries' versions, the software that made the answers (cached ones
may be older than the run), and the bytes behind each name the two runs share: the model folder of the
same model name, the template of the same template name, each data file at the same path. Time and machine
are left out (they change nothing in an answer), and so are things a comparison changes by design (two
template names, a pool from another file). Runs without provenance.json (written by an older icl) get one
note, not a warning.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from icl.analysis.gains import Gain

SECTION = "## Provenance warnings"


def comparable(body: Mapping[str, Any]) -> dict[str, str]:
    """The parts of a provenance.json that must agree between the runs of a comparison, by name."""
    icl = body.get("icl", {})
    engine = body.get("engine", {})
    out = {"icl version": str(icl.get("version")),
           "icl commit": f"{icl.get('commit')}{' (dirty)' if icl.get('dirty') else ''}",
           "icl code": str(icl.get("code_sha256", ""))[:12],
           "python": str(body.get("python"))}
    out.update({name: str(version) for name, version in body.get("packages", {}).items()})
    model = engine.get("model")
    out[f"engine of {model}"] = f"{engine.get('engine')} {json.dumps(engine.get('args'), sort_keys=True)}"
    out[f"model files of {model}"] = str(engine.get("model_sha256"))[:12]
    template = body.get("template", {})
    out[f"template {template.get('name')}"] = str(template.get("sha256"))[:12]
    for data in body.get("data", ()):
        out[f"data file {data.get('path')}"] = str(data.get("sha256"))[:12]
    makers = sorted({_maker(m.get("software")) for m in body.get("answers", {}).get("made_by", ())})
    out["answers made by"] = "; ".join(makers)
    return out


def _maker(software: Mapping[str, Any] | None) -> str:
    if software is None:
        return "unknown (cached before icl recorded it)"
    commit = software.get("commit")
    return ", ".join([f"icl {software.get('icl')}" + (f" @{commit[:10]}" if commit else "")
                      + (" dirty" if software.get("dirty") else ""),
                      *(f"{k} {v}" for k, v in sorted(software.items()) if k not in {"icl", "commit", "dirty"})])


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """`name: value a vs value b` for each comparable part the two bodies both have and disagree on."""
    left, right = comparable(a), comparable(b)
    return [f"{name}: {left[name]} vs {right[name]}" for name in left if name in right and left[name] != right[name]]


def _read(run: Path) -> dict[str, Any] | str | None:
    """The run's provenance, None where it has none, or why it cannot be read (a note, not a stop: the gains
    stand without it)."""
    path = run / "provenance.json"
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"{run.name}/provenance.json is not JSON ({exc})"
    return body if isinstance(body, dict) else f"{run.name}/provenance.json is not a JSON object"


def provenance_lines(sweep_dir: Path, rows: Sequence[Gain]) -> list[str]:
    """The section's lines: one per comparison and pair whose runs differ, and a note for runs with no
    provenance.json ([] where there is nothing to say)."""
    pairs = dict.fromkeys((g.comparison, g.pair, g.baseline_run, g.system_run) for g in rows)
    bodies = {run: _read(sweep_dir / run) for _, _, base, system in pairs for run in (base, system)}
    lines = []
    for comparison, pair, base, system in pairs:
        a, b = bodies[base], bodies[system]
        if not isinstance(a, dict) or not isinstance(b, dict):
            continue
        found = differences(a, b)
        if found:
            lines.append(f"- {comparison}, {pair} ({base} vs {system}): {'; '.join(found)}")
    lines += [f"- not checked: {body}" for body in bodies.values() if isinstance(body, str)]
    missing = sorted(run for run, body in bodies.items() if body is None)
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        lines.append(f"- not checked: {len(missing)} runs have no provenance.json (written by an icl older than "
                     f"the file; re-run the sweep to write it): {shown}")
    return lines


def provenance_markdown(sweep_dir: Path, rows: Sequence[Gain]) -> str:
    """The "Provenance warnings" section of gains.md ('' where every pair agrees)."""
    lines = provenance_lines(sweep_dir, rows)
    if not lines:
        return ""
    intro = ("The two runs of these comparisons were not made the same way (time and machine aside); their "
             "gains may show more than the comparison's change.")
    return "\n".join(["", SECTION, "", intro, "", *lines]) + "\n"


def append_provenance(sweep_dir: Path, rows: Sequence[Gain]) -> str:
    """Add the section to the sweep's gains.md (written just before); returns it ('' when none)."""
    section = provenance_markdown(sweep_dir, rows)
    if section:
        with (sweep_dir / "gains.md").open("a", encoding="utf-8") as fh:
            fh.write(section)
    return section
