"""Self-labelled demonstrations: in-language text labelled by the model itself (Wang, Ruder & Neubig
2022's monolingual setting, where it gained most).

Unlabelled text in the run's language (the non-English side of its demonstration pool, never a test
item) is labelled by the same model and engine the run uses: intent utterances by rank-mode
prediction on a prompt with English demonstrations, MT sentences by zero-shot back-translation into
English. The (text, model label) pairs are the run's demonstrations; each carries its provenance
(which model labelled it, with which prompt), saved with the predictions. Labelling goes through the
completion cache like every other model call, so it is computed once and resumes after a kill.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from icl.data import Registry, RunData, load_run
from icl.engines import GenParams
from icl.errors import ConfigError
from icl.prompts.render import answers, load_template, render
from icl.spec import Pool, RunSpec
from icl.tasks import get_task
from icl.values import Example
from icl.values.prompt import Prompt

SIZE = 64
"""Unlabelled sentences labelled per run (a seeded sample of the pool's in-language side): enough for
retrieval to choose among, few enough that labelling costs less than the run itself."""

ENGLISH_SHOTS = 4
"""English demonstrations in the intent labelling prompt."""


class Labeler(Protocol):
    """The model a run uses, as the runner lends it for labelling (cached like every other call)."""

    name: str
    """What `labelled_by` records: the model and engine."""

    def generate(self, prompts: Sequence[Prompt], params: GenParams) -> list[str]:
        ...

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        ...


def unlabelled(spec: RunSpec, data: RunData, size: int | None = None) -> list[Example]:
    """A seeded sample of the pool's text in the run's language, as unlabelled Examples (never a test
    item: a held-out pool is already removed from the test items, and ids and texts are checked)."""
    lang = spec.language
    test_ids = {ex.id for ex in data.test}
    test_texts = {ex.source.strip() for ex in data.test} | {ex.target.strip() for ex in data.test}
    texts: list[Example] = []
    for ex in data.pool:
        text = ex.source if ex.src_lang == lang else ex.target if ex.tgt_lang == lang else None
        if text and ex.id not in test_ids and text.strip() not in test_texts:
            texts.append(Example(ex.id, text, "", lang, lang, ex.origin, None))
    if not texts:
        raise ConfigError(f"augment: selflabel: pool {spec.pool.text!r} has no {lang} text to label")
    rng = random.Random(f"{spec.seed}:selflabel")
    return rng.sample(texts, min(size or SIZE, len(texts)))


def _provenance(labeler: Labeler, prompt: Prompt) -> tuple[tuple[str, str], ...]:
    text = prompt.text if prompt.messages is None else json.dumps(prompt.messages, ensure_ascii=False)
    return (("labelled_by", labeler.name), ("prompt", text or ""))


def label_by_rank(spec: RunSpec, data: RunData, labeler: Labeler, registry: Registry) -> list[Example]:
    """Each utterance gets the label the model ranks highest, on the run's template with English demos."""
    task = get_task(spec.task)
    english_spec = replace(spec, pool=Pool(f"{spec.pool.name or 'train'}:eng"), augment="none", limit=1)
    english = load_run(english_spec, registry).pool
    if not english:
        raise ConfigError(f"augment: selflabel needs English demonstrations; {spec.dataset} has none")
    demos = random.Random(f"{spec.seed}:selflabel-demos").sample(list(english), min(ENGLISH_SHOTS, len(english)))
    template = load_template(spec.template)
    texts = unlabelled(spec, data)
    prompts, candidates = [], []
    for ex in texts:
        ctx = task.context(ex, demos, [], data.labels)
        prompts.append(render(template, ctx).prompt)
        candidates.append(answers(template, ctx, task.answer_args(data.labels)))
    scores = labeler.score(prompts, candidates)
    labels = data.labels.labels if data.labels is not None else ()
    out = []
    for ex, prompt, row in zip(texts, prompts, scores, strict=True):
        best = labels[max(range(len(row)), key=row.__getitem__)]
        group = data.labels.groups.get(best) if data.labels is not None else None
        out.append(Example(f"selflabel:{ex.id}", ex.source, best, ex.src_lang, ex.tgt_lang, "selflabel:" + ex.origin,
                           group or None, _provenance(labeler, prompt)))
    return out


def label_by_backtranslation(spec: RunSpec, data: RunData, labeler: Labeler, registry: Registry) -> list[Example]:
    """Each sentence is back-translated into English by the model, zero-shot on the run's template;
    pairs face the run's direction (pseudo-English source for eng->X)."""
    task = get_task(spec.task)
    template = load_template(spec.template)
    texts = unlabelled(spec, data)
    prompts, stops = [], []
    for ex in texts:
        query = replace(ex, tgt_lang="eng")
        rendered = render(template, task.context(query, [], [], None))
        prompts.append(rendered.prompt)
        stops.append(rendered.stop)
    if len(set(stops)) > 1:
        raise ConfigError(f"augment: selflabel: template {spec.template} stops differently across prompts")
    outputs = labeler.generate(prompts, GenParams(max_tokens=spec.max_tokens, stop=stops[0] if stops else ()))
    out = []
    for ex, prompt, output in zip(texts, prompts, outputs, strict=True):
        english = task.predict(output, None) or ""
        src, tgt = (english, ex.source) if spec.src == "eng" else (ex.source, english)
        out.append(Example(f"selflabel:{ex.id}", src, tgt, spec.src, spec.tgt, "selflabel:" + ex.origin, None,
                           _provenance(labeler, prompt)))
    return out


STRATEGIES: dict[str, Callable[[RunSpec, RunData, Labeler, Registry], list[Example]]] = {
    "backtranslate": label_by_backtranslation,
    "best-label": label_by_rank,
}
"""How unlabelled text is labelled (a task names its strategy, `Task.selflabel`): back-translation into
English, or the label the model ranks highest."""


def selflabel_pool(spec: RunSpec, data: RunData, labeler: Labeler | None, registry: Registry) -> list[Example]:
    """The run's demonstrations: its pool's in-language text, labelled by the model itself."""
    if labeler is None:
        raise ConfigError("augment: selflabel labels demonstrations with the run's model; none is available here")
    strategy = get_task(spec.task).selflabel
    if strategy not in STRATEGIES:
        raise ConfigError(f"augment: selflabel: task {spec.task} names strategy {strategy!r} (known: "
                          f"{', '.join(STRATEGIES)})")
    return STRATEGIES[strategy](spec, data, labeler, registry)
