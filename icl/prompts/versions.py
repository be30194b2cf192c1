"""Saved versions of a template: each save from `icl author` keeps the text it replaces.

Layout, beside the template (plain files, so git can keep them too):

    prompts/<task>/<name>.j2                    the live template: always the latest version's text
    prompts/<task>/.versions/<name>/<n>.j2      version n (1, 2, ...), never rewritten
    prompts/<task>/.versions/<name>/index.json  [{"version": n, "saved": ISO-8601 UTC, "note": ...}]

A sweep names a version as `<name>@<n>` (`templates: [plain@2]`); it renders like any template, so its
completion cache keys are those of any template with the same text. The dot folder sits one level
below the `prompts/*/*.j2` that template lists and `icl prompts lint` read, so they never see versions.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from icl.config import prompts_dir
from icl.data.files import read_text
from icl.errors import TemplateError

VERSIONS = ".versions"
_VERSIONED = re.compile(r"(?P<name>[^@]+)@(?P<number>[0-9]+)")


@dataclass(frozen=True)
class Version:
    """One saved text of a template."""

    version: int
    saved: str
    """When it was saved (ISO 8601, UTC); for a file kept from before, its modification time."""
    note: str = ""
    """`saved from icl author`, or where a kept text came from (the file as it was on disk)."""


def split_version(stem: str) -> tuple[str, int | None]:
    """`plain@2` -> (`plain`, 2); `plain` -> (`plain`, None)."""
    found = _VERSIONED.fullmatch(stem)
    if found is None:
        return stem, None
    number = int(found.group("number"))
    if number < 1:
        raise TemplateError(f"template {stem!r}: versions are numbered from 1")
    return found.group("name"), number


def template_file(task: str, stem: str) -> str:
    """A template's path relative to the prompts folder (`/`-separated, as Jinja's loader takes it)."""
    name, number = split_version(stem)
    return f"{task}/{stem}.j2" if number is None else f"{task}/{VERSIONS}/{name}/{number}.j2"


def _folder(task: str, name: str, root: Path | None) -> Path:
    return (root or prompts_dir()) / task / VERSIONS / name


def versions(task: str, name: str, root: Path | None = None) -> list[Version]:
    """A template's saved versions, oldest first (none for a template never saved from the page)."""
    index = _folder(task, name, root) / "index.json"
    if not index.is_file():
        return []
    try:
        rows = json.loads(read_text(index))
        return [Version(int(r["version"]), str(r["saved"]), str(r.get("note", ""))) for r in rows]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise TemplateError(f"{index}: not a version index ({exc})") from None


def version_text(task: str, name: str, number: int, root: Path | None = None) -> str:
    path = _folder(task, name, root) / f"{number}.j2"
    if not path.is_file():
        known = ", ".join(str(v.version) for v in versions(task, name, root)) or "none"
        raise TemplateError(f"{path}: {task}/{name} has no version {number} (its versions: {known})")
    return read_text(path)


def _add(task: str, name: str, text: str, saved: str, note: str, root: Path | None) -> Version:
    folder = _folder(task, name, root)
    folder.mkdir(parents=True, exist_ok=True)
    known = versions(task, name, root)
    made = Version(known[-1].version + 1 if known else 1, saved, note)
    (folder / f"{made.version}.j2").write_text(text, encoding="utf-8")
    index = folder / "index.json"
    partial = index.with_suffix(".json.partial")
    partial.write_text(json.dumps([asdict(v) for v in [*known, made]], indent=1) + "\n", encoding="utf-8")
    partial.replace(index)  # a reader sees the old index or the new one, never half of it
    return made


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def save_version(task: str, name: str, text: str, root: Path | None = None) -> Version:
    """Write `text` as the live template and as its newest version, first keeping the live file's text
    as a version of its own when no version has it (a template written before the page saved it, or
    edited on disk since). Saving the latest version's text again adds nothing."""
    live = (root or prompts_dir()) / task / f"{name}.j2"
    known = versions(task, name, root)
    latest = version_text(task, name, known[-1].version, root) if known else None
    if live.is_file():
        current = read_text(live)
        if current != latest and current != text:
            stamp = datetime.fromtimestamp(live.stat().st_mtime, UTC).isoformat(timespec="seconds")
            _add(task, name, current, stamp, "the file as it was on disk before this save", root)
            latest = current
    made = versions(task, name, root)[-1] if latest == text else _add(task, name, text, _now(), "saved from icl author", root)
    live.parent.mkdir(parents=True, exist_ok=True)
    live.write_text(text, encoding="utf-8")
    return made
