"""Reading the text files users write (YAML declarations, catalogues, sweeps): every problem names the
file, and the line where there is one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from icl.errors import ConfigError


def load_yaml(path: Path, what: str = "YAML file") -> Any:
    """Parse a YAML file, naming file:line on a syntax error; `what` names a missing file."""
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: malformed YAML: {problem}") from None
