"""Any OpenAI-compatible endpoint (a vLLM server, or a fleet of them): completions and chat.

Label scoring uses vLLM's own extensions where the server has them (`/tokenize`, token-id prompts,
`logprob_token_ids`), which keep prefix caching; any other server is scored by echoing the prompt with
`logprobs`, which is portable but recomputes every prompt.

Requests go out concurrently (bounded), spread round-robin over the live endpoints. A request that
times out or meets a 5xx/429 is retried with exponential backoff; an endpoint that refuses connections is
dropped and its request re-sent to another, so one dead server does not stop a sweep. Only when every
endpoint is gone does the engine fail, with a one-line error naming them.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import requests

from icl.engines import Cancelled, Completion, GenParams, LabelTrie
from icl.errors import EngineError
from icl.values.prompt import Prompt

_RETRY_STATUS = {429, 500, 502, 503, 504}


class OpenAIEngine:
    """Client of one or more OpenAI-compatible servers."""

    def __init__(self, model: str, endpoints: Sequence[str] | str = ("http://127.0.0.1:8000/v1",),
                 served_model: str | None = None, api_key: str | None = None, concurrency: int = 8,
                 timeout: float = 300.0, retries: int = 3, backoff: float = 0.5, scoring: str = "auto",
                 verbose: bool = False) -> None:
        del verbose  # a client: the servers keep their own logs
        urls = [endpoints] if isinstance(endpoints, str) else list(endpoints)
        if not urls:
            raise EngineError("engine openai: `endpoints` is empty")
        self.model = served_model or model
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = requests.Session()
        self._lock = threading.Lock()
        self.live = [u.rstrip("/") for u in urls if self._healthy(u.rstrip("/"))]
        if not self.live:
            raise EngineError(f"engine openai: no endpoint reachable ({', '.join(urls)}); is the server running?")
        self._turn = itertools.count()
        self.dropped: list[str] = []
        if scoring not in ("auto", "vllm", "echo"):
            raise EngineError(f"engine openai: scoring {scoring!r} is not auto, vllm or echo")
        self.scoring = scoring

    def _healthy(self, url: str) -> bool:
        try:
            return self.session.get(f"{url}/models", headers=self.headers, timeout=10).status_code == 200
        except requests.RequestException:
            return False

    def _pick(self) -> str:
        with self._lock:
            if not self.live:
                raise EngineError(f"engine openai: every endpoint failed ({', '.join(self.dropped)})")
            return self.live[next(self._turn) % len(self.live)]

    def _drop(self, url: str) -> None:
        with self._lock:
            if url in self.live:
                self.live.remove(url)
                self.dropped.append(url)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to a live endpoint; failover on dead endpoints, backoff on transient errors."""
        attempt = 0
        while True:
            url = self._pick()
            try:
                resp = self.session.post(f"{url}{path}", json=body, headers=self.headers, timeout=self.timeout)
            except requests.Timeout:
                resp = None
            except requests.RequestException:  # refused, reset, or cut off mid-answer
                if not self._healthy(url):
                    self._drop(url)  # the server is gone: its work goes elsewhere, not counted as a retry
                    continue
                resp = None
            if resp is not None and resp.status_code == 200:
                return resp.json()
            if resp is not None and resp.status_code not in _RETRY_STATUS:
                raise EngineError(f"engine openai: {url}{path} answered {resp.status_code}: {resp.text[:200]}")
            attempt += 1
            if attempt > self.retries:
                status = "timed out" if resp is None else f"answered {resp.status_code}"
                raise EngineError(f"engine openai: {url}{path} {status} after {self.retries} retries")
            time.sleep(self.backoff * 2 ** (attempt - 1))

    def _one(self, prompt: Prompt, params: GenParams) -> Completion:
        body: dict[str, Any] = {"model": self.model, "max_tokens": params.max_tokens,
                                "temperature": params.temperature, "seed": params.seed}
        if params.stop:
            body["stop"] = list(params.stop)
        try:
            if prompt.messages is not None:
                body["messages"] = [{"role": r, "content": c} for r, c in prompt.messages]
                return Completion(text=self._post("/chat/completions", body)["choices"][0]["message"]["content"] or "")
            body["prompt"] = prompt.text or ""
            return Completion(text=self._post("/completions", body)["choices"][0]["text"])
        except EngineError as exc:
            if not self.live:
                raise
            return Completion(text="", error=str(exc))  # recorded in predictions, never cached

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None,
                 cancel: threading.Event | None = None) -> list[Completion]:
        """Up to `concurrency` requests at once; a set `cancel` drops those not yet sent (checked as
        each answer arrives) and raises Cancelled once the ones in flight are back."""
        results: list[Completion | None] = [None] * len(prompts)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {pool.submit(self._one, p, params): i for i, p in enumerate(prompts)}
            for future in as_completed(futures):  # delivered on this thread, as each one finishes
                if cancel is not None and cancel.is_set():
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise Cancelled(f"{sum(r is None for r in results)} generations cancelled")
                i = futures[future]
                results[i] = future.result()
                if on_result is not None:
                    on_result(i, results[i])
        return [r for r in results if r is not None]

    def _score_one(self, prompt: Prompt, continuation: str) -> float:
        """Portable scoring: echo the prompt with its log-probabilities (any OpenAI-compatible server)."""
        if prompt.messages is not None:
            raise EngineError("engine openai: rank mode needs a text template (chat prompts cannot be scored)")
        context = prompt.text or ""
        body = {"model": self.model, "prompt": context + continuation, "max_tokens": 1, "temperature": 0.0,
                "echo": True, "logprobs": 0}
        lp = self._post("/completions", body)["choices"][0]["logprobs"]
        total = 0.0
        n_prompt = len(lp["tokens"]) - 1  # echo returns the prompt tokens and one generated token
        for offset, value in zip(lp["text_offset"][:n_prompt], lp["token_logprobs"][:n_prompt], strict=True):
            if offset >= len(context) and value is not None:
                total += float(value)
        return total

    def _tokenize(self, text: str, special: bool) -> list[int]:
        url = self._pick()
        root = url.removesuffix("/v1")
        resp = self.session.post(f"{root}/tokenize", json={"model": self.model, "prompt": text,
                                                            "add_special_tokens": special},
                                 headers=self.headers, timeout=self.timeout)
        if resp.status_code != 200:
            raise EngineError(f"engine openai: {root}/tokenize answered {resp.status_code}")
        return list(resp.json()["tokens"])

    def _use_vllm_scoring(self) -> bool:
        if self.scoring != "auto":
            return self.scoring == "vllm"
        try:
            self._tokenize("a", False)
        except (EngineError, requests.RequestException, KeyError):
            self.scoring = "echo"
            return False
        self.scoring = "vllm"
        return True

    def _score_trie(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        """vLLM servers: the same token trie as the offline engine, one request per internal node asking
        for its children's raw log-probabilities (`logprob_token_ids`), contexts from the prefix cache."""
        pairs = []
        for prompt, conts in zip(prompts, continuations, strict=True):
            if prompt.messages is not None:
                raise EngineError("engine openai: rank mode needs a text template (chat prompts cannot be scored)")
            context = prompt.text or ""
            ctx = self._tokenize(context, True)
            per_prompt = []
            for cont in conts:
                whole = self._tokenize(context + cont, True)
                per_prompt.append((ctx, whole[len(ctx):] if whole[: len(ctx)] == ctx else self._tokenize(cont, False)))
            pairs.append(per_prompt)
        try:
            trie = LabelTrie.build(pairs)
        except ValueError as exc:
            raise EngineError(f"engine openai: {exc}") from None
        warm = {"model": self.model, "max_tokens": 1, "temperature": 0.0}

        def ask(node: tuple[int, ...]) -> dict[int, float]:
            ids = sorted(trie.children[node])
            body = {**warm, "prompt": list(node), "logprobs": len(ids), "logprob_token_ids": ids,
                    "return_tokens_as_token_ids": True}
            top = self._post("/completions", body)["choices"][0]["logprobs"]["top_logprobs"][0]
            return {int(k.rsplit(":", 1)[1]): float(v) for k, v in top.items()}

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            list(pool.map(lambda c: self._post("/completions", {**warm, "prompt": list(c)}), trie.contexts()))
            nodes = trie.nodes()
            answers = list(pool.map(ask, nodes))
        return trie.totals({node + (tok,): got[tok] for node, got in zip(nodes, answers, strict=True)
                            for tok in trie.children[node]})

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        if self._use_vllm_scoring():
            return self._score_trie(prompts, continuations)
        jobs = [(i, c) for i, conts in enumerate(continuations) for c in conts]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            flat = list(pool.map(lambda job: self._score_one(prompts[job[0]], job[1]), jobs))
        out: list[list[float]] = []
        pos = 0
        for conts in continuations:
            out.append(flat[pos : pos + len(conts)])
            pos += len(conts)
        return out

    def close(self) -> None:
        self.session.close()
