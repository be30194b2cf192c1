"""What a template renders and an engine receives. It lives apart from rendering (Jinja, tasks) so
that engines can import it without loading anything else of icl."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    """What an engine receives: plain text, or chat messages the engine formats for its model."""

    text: str | None = None
    messages: tuple[tuple[str, str], ...] | None = None

    def as_key(self) -> str:
        """A stable string form, for cache keys and for saving with predictions."""
        if self.messages is None:
            return self.text or ""
        return "".join(f"<|{role}|>{content}" for role, content in self.messages)
