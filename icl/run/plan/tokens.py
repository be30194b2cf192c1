"""Prompt tokens counted with the model's own tokenizer (`tokenizers` reading tokenizer.json: fast to
load), or "unknown" with the reason where no tokenizer can be loaded offline."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.errors import IclError
from icl.spec import ModelSpec


@dataclass(frozen=True)
class TokenCounter:
    """Counts prompt tokens as the engine will see them, or says why it cannot."""

    encode: Callable[[list[str], bool], list[int]] | None
    """(texts, add_special_tokens) -> token counts; None where no tokenizer could be loaded."""
    source: str
    """The tokenizer file or folder used, or why tokens are unknown."""
    chat_template: str | None = None
    special: tuple[tuple[str, str], ...] = ()
    """bos_token / eos_token for the chat template."""

    def count(self, prompts: Sequence[Any]) -> list[int] | None:
        """Tokens of each prompt (text prompts with the tokenizer's special tokens, chat prompts
        through the model's chat template); None where the tokenizer is unknown."""
        if self.encode is None:
            return None
        texts = [p.text or "" for p in prompts if p.messages is None]
        chats = [self._chat(p.messages) for p in prompts if p.messages is not None]
        text_counts = iter(self.encode(texts, True) if texts else [])
        chat_counts = iter(self.encode(chats, False) if chats else [])
        return [next(text_counts) if p.messages is None else next(chat_counts) for p in prompts]

    def _chat(self, messages: Sequence[tuple[str, str]]) -> str:
        if self.chat_template is None:  # no chat format known: the turns' text, roughly
            return "".join(f"{r}\n{c}\n" for r, c in messages)
        msgs = [{"role": r, "content": c} for r, c in messages]
        return _chat_template(self.chat_template).render(messages=msgs, add_generation_prompt=True,
                                                        **dict(self.special))


@functools.cache
def _chat_template(source: str) -> Any:
    """A model's chat template, compiled the way transformers' `apply_chat_template` does."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise IclError(f"chat template: {message}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    return env.from_string(source)


def token_counter(model: ModelSpec) -> TokenCounter:
    """The model's tokenizer: `tokenizer.json` read by `tokenizers` directly where the model is a
    local folder (about 1 s for Gemma's 262k-token vocabulary; transformers' AutoTokenizer needs 5 s
    just to import), else AutoTokenizer from local files only. Never fails: a tokenizer that cannot
    be had (a hub id with no hub) gives a counter that says why. (Read directly, tokenizer.json's own
    post-processor adds the special tokens; a tokenizer_config.json that overrides it, e.g. turning
    `add_bos_token` off, would make counts one token per prompt high. Gemma's agree, see the tests.)"""
    from icl.engines.models import resolve_model

    try:
        name = resolve_model(model.name)
    except IclError as exc:
        return TokenCounter(None, f"unknown ({exc})")
    folder = Path(name)
    if folder.is_dir() and (folder / "tokenizer.json").is_file():
        path = folder / "tokenizer.json"
        config = _read_json(folder / "tokenizer_config.json")
        template = config.get("chat_template")
        if not isinstance(template, str) and (folder / "chat_template.jinja").is_file():
            template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
        special = tuple((k, _token_text(config.get(k))) for k in ("bos_token", "eos_token"))

        def encode(texts: list[str], add_special: bool) -> list[int]:
            return _counts(path, texts, add_special)

        return TokenCounter(encode, str(path), template if isinstance(template, str) else None, special)
    try:
        from transformers import AutoTokenizer

        hf = AutoTokenizer.from_pretrained(name, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "unknown", and the reason is reported
        where = "local folder" if folder.is_dir() else "hub id, no local copy and no hub here"
        return TokenCounter(None, f"unknown: no tokenizer for {model.name} ({where}: {type(exc).__name__})")

    def encode_hf(texts: list[str], add_special: bool) -> list[int]:
        return [len(ids) for ids in hf(texts, add_special_tokens=add_special)["input_ids"]]

    template = getattr(hf, "chat_template", None)
    special = tuple((k, str(getattr(hf, k, "") or "")) for k in ("bos_token", "eos_token"))
    return TokenCounter(encode_hf, f"{name} (transformers)", template if isinstance(template, str) else None, special)


def _counts(path: Path, texts: list[str], add_special: bool) -> list[int]:
    """Token counts of texts, kept on disk (icl.derived) keyed on the tokenizer file's bytes and the texts:
    loading Gemma's tokenizer and encoding a sweep's prompts were a third of a plan whose prompts come
    from derived data; a plan that finds every count loads no tokenizer."""
    from icl import derived

    digest = derived.key("tokens", derived.file_digest(path), add_special, derived.text_digest(texts))
    st = path.stat()
    return derived.cached("tokens", digest, lambda: [len(e.ids) for e in _tokenizer(
        str(path), st.st_size, st.st_mtime_ns).encode_batch(texts, add_special_tokens=add_special)])


@functools.cache
def _tokenizer(path: str, size: int, mtime_ns: int) -> Any:
    """A tokenizer.json read once per process and file state, when a count is first missing."""
    del size, mtime_ns  # part of the cache key only: an edited file is read again
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def _token_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("content", ""))
    return str(value or "")


def _tokenizer_source(model: ModelSpec) -> str:
    """Which tokenizer `token_counter` would load (cheap: nothing is read), for the memo key."""
    from icl.engines.models import resolve_model

    try:
        folder = Path(resolve_model(model.name))
    except IclError as exc:
        return f"unknown ({exc})"
    return str(folder / "tokenizer.json") if (folder / "tokenizer.json").is_file() else str(folder)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
