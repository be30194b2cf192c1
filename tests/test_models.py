"""The embedded model's folder: conversion versioning, the cache fingerprint, and Gemma's <bos>."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from icl.engines.models import _CONVERSION, _MARKER, is_prepared, model_fingerprint
from icl.run.requests import engine_identity
from icl.spec import ModelSpec


def _folder(tmp_path: Path, conversion: int | None) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "gemma3_text"}')
    (folder / "tokenizer_config.json").write_text('{"add_bos_token": true}')
    if conversion is not None:
        (folder / _MARKER).write_text(json.dumps({"conversion": conversion}))
    return folder


@pytest.mark.parametrize(("conversion", "expected"), [(None, False), (1, False), (_CONVERSION, True)])
def test_outdated_conversions_are_redone(tmp_path: Path, conversion: int | None, expected: bool) -> None:
    assert is_prepared(_folder(tmp_path, conversion)) is expected


def test_fingerprint_follows_tokenizer_and_config_files(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _CONVERSION)
    before = model_fingerprint(str(folder))
    assert before and model_fingerprint(str(folder)) == before
    (folder / "tokenizer_config.json").write_text('{"add_bos_token": false}')
    assert model_fingerprint(str(folder)) != before
    assert model_fingerprint(str(tmp_path / "missing")) == ""
    assert model_fingerprint("google/gemma-3-270m") == ""  # a hub id: the name is the identity


def test_cache_identity_changes_with_the_model_files(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _CONVERSION)
    spec = ModelSpec(name=str(folder), engine="vllm")
    before = engine_identity(spec)
    (folder / "config.json").write_text('{"model_type": "gemma3_text", "rope_theta": 1}')
    assert engine_identity(spec) != before


@pytest.mark.model
def test_embedded_tokenizer_starts_with_bos(model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    ids = tok("English: Hello")["input_ids"]
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
    chat = tok.apply_chat_template([{"role": "user", "content": "Hello"}], add_generation_prompt=True, tokenize=True)
    chat_ids = chat["input_ids"] if isinstance(chat, dict) or hasattr(chat, "keys") else chat
    assert list(chat_ids).count(tok.bos_token_id) == 1
