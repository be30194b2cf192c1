"""Exact rank scoring at the compute floor: one forward pass per pack of items, labels laid out as a tree.

Ranking the 60 MASSIVE labels asks for log p(label | prompt) of every label. The labels share tokens
(`alarm_` in alarm_set / alarm_query): as a token trie they are 222 tokens in 116 nodes, 58 of them
internal. The least work that gives every score exactly is the model body over each item's own tokens
plus the trie's nodes, and the vocabulary projection with its log-softmax at the internal nodes only.
This module does that work and little else:

- The prompts of a call share a prefix (instructions, the label list, demos): its keys and values are
  computed once and kept across calls, keyed by token ids (`PrefixStore`); a later prefix that shares
  its start reuses that part and computes only the rest.
- Each item's own tokens (its context after the shared prefix) and its label trie become one sequence
  of nodes: a node attends to the shared prefix, its ancestors and itself (a 4D mask), at the position
  of its depth, so it sees exactly what it would see in a plain forward over `context + label`. Several
  items go into one pass (`pack_tokens`): larger matrix products, fewer passes.
- Gemma 3's sliding-window layers get their own mask (a key more than `sliding_window - 1` positions
  back is hidden), so prompts longer than the window score as in a plain forward; the prefix keys those
  layers can no longer see are left out of their attention.
- The vocabulary projection runs only at the nodes whose next-token distribution a label needs, and
  only `logsumexp` and the needed logits are taken from it.

Every score equals a plain full-sequence forward to float32 rounding (tests/test_rank_scoring.py checks
1e-4 on real prompts, chat prompts and prompts longer than the window). The caller supplies token ids,
so each engine keeps its own tokenisation of context and continuation and its scores do not move.

Measured on this machine (2 cores, Gemma-3-270m, float32, quickstart intent prompts, 60 labels): see
benchmarks/bench_rank.py and the README's Engines note for which engine scores this way and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

Request = tuple[Sequence[int], Sequence[Sequence[int]]]
"""One prompt's context token ids and its continuations' token ids."""


class _KeyValues:
    """The per-layer keys and values before a pass, duck-typed as the transformers `Cache` the attention
    layers call (`update` is all they use when the masks and positions are given).

    `record=True` appends what a pass computes (building a prefix); otherwise a pass reads the prefix and
    keeps nothing, so one prefix serves many passes without copies. `starts[layer]` drops prefix keys
    that no query of the pass can see (sliding layers on long prompts)."""

    def __init__(self, keys: list[torch.Tensor | None], values: list[torch.Tensor | None], record: bool,
                 starts: Sequence[int] | None = None) -> None:
        self.keys, self.values, self.record = keys, values, record
        self.starts = list(starts) if starts is not None else [0] * len(keys)

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int,
               *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        old_k, old_v = self.keys[layer_idx], self.values[layer_idx]
        if old_k is None or old_v is None:
            k, v = key_states, value_states
        else:
            s = self.starts[layer_idx]
            k = torch.cat([old_k[:, :, s:], key_states], dim=-2)
            v = torch.cat([old_v[:, :, s:], value_states], dim=-2)
        if self.record:
            self.keys[layer_idx], self.values[layer_idx] = k, v
        return k, v


@dataclass
class _Prefix:
    ids: tuple[int, ...] = ()
    keys: list[torch.Tensor | None] = field(default_factory=list)
    values: list[torch.Tensor | None] = field(default_factory=list)


@dataclass(frozen=True)
class _Subtree:
    """One item's nodes after the shared prefix: its own context tokens as a chain, then its label trie.
    Parents are local indices (-1: the prefix); `steps[j]` lists (node whose next-token distribution is
    read, token) for continuation j."""

    tokens: list[int]
    parents: list[int]
    depths: list[int]
    steps: list[list[tuple[int, int]]]


def _subtree(context: Sequence[int], start: int, continuations: Sequence[Sequence[int]]) -> _Subtree:
    """The nodes one item needs computed: its context from `start` on, then the label trie's internal
    nodes. A leaf's own output is never read (nothing follows it), so leaves are not nodes of the pass:
    their tokens are only looked up in their parent's distribution."""
    own = len(context) - start
    parent: dict[int, int] = {}  # trie node -> its parent (trie nodes numbered after the context)
    token: dict[int, int] = {}
    index: dict[tuple[int, int], int] = {}
    paths = []
    for cont in continuations:
        if not cont:
            raise ValueError("a continuation with no tokens cannot be scored")
        node, path = own - 1, []  # the context's last token: its output scores every first token
        for tok in cont:
            path.append((node, tok))
            child = index.get((node, tok))
            if child is None:
                child = index[(node, tok)] = own + len(parent)
                parent[child], token[child] = node, tok
            node = child
        paths.append(path)
    internal = sorted({node for path in paths for node, _ in path if node >= own})
    local = {node: own + i for i, node in enumerate(internal)}
    local.update({i: i for i in range(own)})
    tokens = list(context[start:]) + [token[n] for n in internal]
    parents = list(range(-1, own - 1)) + [local[parent[n]] for n in internal]
    depths = list(range(start, len(context)))
    for n in internal:
        depths.append(depths[local[parent[n]]] + 1)
    steps = [[(local[node], tok) for node, tok in path] for path in paths]
    return _Subtree(tokens, parents, depths, steps)


def common_prefix(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest common prefix of token sequences."""
    if not seqs:
        return 0
    first, n = seqs[0], min(len(s) for s in seqs)
    for s in seqs[1:]:
        i = 0
        while i < n and s[i] == first[i]:
            i += 1
        n = i
    return n


def prefix_groups(contexts: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    """Consecutive runs of contexts that share a prefix worth computing once: (first, end, prefix length).

    A call's prompts come sorted, so a run's items sit together, but one call can hold the end of one
    run and the start of the next, whose common prefix is a few tokens. A group ends where the next
    context would cut its shared prefix below half. Each item keeps at least its last context token out
    of the prefix: that token's output scores every first label token."""
    groups = []
    first, shared = 0, len(contexts[0]) - 1 if contexts else 0
    for i in range(1, len(contexts)):
        cand = min(shared, common_prefix([contexts[first], contexts[i]]), len(contexts[i]) - 1)
        if cand < shared / 2:
            groups.append((first, i, shared))
            first, shared = i, len(contexts[i]) - 1
        else:
            shared = cand
    if contexts:
        groups.append((first, len(contexts), shared))
    return groups


class TreeScorer:
    """Scores continuations with a causal LM loaded by transformers (float32 keeps 1e-4 exactness).

    `pack_tokens`: items go into one pass until it holds about this many nodes (measured here: ~4
    quickstart items, ~270 nodes, was fastest; larger packs spend more on the dense masked attention).
    `proj_rows` by `vocab_block`: the vocabulary projection's tile, over the rows of all of a call's
    packs (16 quickstart prompts: 928 rows). Measured here with 2 threads, fp32 GEMM of Gemma 3's
    640 x 262,144 output layer: 1024 x 4096 tiles ~115 GFLOP/s, 256 rows x the whole vocabulary ~75.
    """

    def __init__(self, model: Any, pack_tokens: int = 300, proj_rows: int = 1024, vocab_block: int = 4096) -> None:
        self.model = model
        self.body = model.base_model
        config = model.config
        self.layer_types: list[str] = list(getattr(config, "layer_types", None)
                                           or ["full_attention"] * config.num_hidden_layers)
        self.window: int | None = getattr(config, "sliding_window", None)
        if "sliding_attention" in self.layer_types and not self.window:
            raise ValueError("tree scoring: sliding layers without a sliding_window in the model config")
        self.softcap: float | None = getattr(config, "final_logit_softcapping", None)
        self.pack_tokens = pack_tokens
        self.proj_rows = proj_rows
        self.vocab_block = vocab_block
        self.dtype = next(model.parameters()).dtype
        self.forget()

    def forget(self) -> None:
        """Drop the kept prefix (the next call computes its prefix from scratch)."""
        self.prefix = _Prefix((), [None] * len(self.layer_types), [None] * len(self.layer_types))

    # -- masks ---------------------------------------------------------------------------------------
    def _masks(self, q_pos: torch.Tensor, k_pos: torch.Tensor, visible: torch.Tensor,
               sliding_start: int) -> dict[str, torch.Tensor]:
        """Additive float masks per layer type, (1, 1, queries, keys); sliding layers see keys from
        `sliding_start` on, and only those fewer than `window` positions back."""
        neg = torch.finfo(self.dtype).min
        full = torch.zeros(visible.shape, dtype=self.dtype).masked_fill_(~visible, neg)
        masks = {"full_attention": full[None, None]}
        if self.window:
            vis = visible[:, sliding_start:] & ((q_pos[:, None] - k_pos[None, sliding_start:]) < self.window)
            masks["sliding_attention"] = torch.zeros(vis.shape, dtype=self.dtype).masked_fill_(~vis, neg)[None, None]
        return masks

    def _starts(self, sliding_start: int) -> list[int]:
        return [sliding_start if t == "sliding_attention" else 0 for t in self.layer_types]

    def _sliding_start(self, prefix_len: int, min_q: int) -> int:
        """First prefix key any sliding layer of a pass can see (queries at positions >= min_q)."""
        return 0 if not self.window else max(0, min(prefix_len, min_q - self.window + 1))

    # -- the shared prefix ---------------------------------------------------------------------------
    def _extend_prefix(self, ids: Sequence[int], chunk: int = 512) -> None:
        """Make `self.prefix` hold exactly `ids`: keep the common start of what it holds, compute the rest
        (plain causal attention, in chunks)."""
        keep = common_prefix([self.prefix.ids, ids])
        keys = [k[:, :, :keep] if k is not None and keep else None for k in self.prefix.keys]
        values = [v[:, :, :keep] if v is not None and keep else None for v in self.prefix.values]
        for s in range(keep, len(ids), chunk):
            e = min(len(ids), s + chunk)
            q_pos = torch.arange(s, e)
            k_pos = torch.arange(0, e)
            visible = k_pos[None, :] <= q_pos[:, None]
            cache = _KeyValues(keys, values, record=True)
            self.body(input_ids=torch.tensor([list(ids[s:e])]), attention_mask=self._masks(q_pos, k_pos, visible, 0),
                      position_ids=q_pos[None], past_key_values=cache, use_cache=True)
            keys, values = cache.keys, cache.values
        self.prefix = _Prefix(tuple(ids), keys, values)

    # -- scoring -------------------------------------------------------------------------------------
    def score(self, requests: Sequence[Request]) -> list[list[float]]:
        """Sum of token log-probabilities of each continuation after its context, per request.

        The body runs pack by pack; the vocabulary projection waits until the call's packs are done, so
        that it multiplies full blocks of rows (a pack of two per-item-demo prompts reads ~116 rows)."""
        contexts = [list(ctx) for ctx, _ in requests]
        if any(not c for c in contexts):
            raise ValueError("tree scoring needs at least one context token (a BOS token) per prompt")
        rows: list[torch.Tensor] = []
        plans: list[list[list[tuple[int, int]]]] = []  # per request, per continuation: (row, token) steps
        with torch.inference_mode():
            for first, end, shared in prefix_groups(contexts):
                self._extend_prefix(contexts[first][:shared])
                pack: list[_Subtree] = []
                for i in range(first, end):
                    tree = _subtree(contexts[i], shared, requests[i][1])
                    if pack and sum(len(t.tokens) for t in pack) + len(tree.tokens) > self.pack_tokens:
                        plans.extend(self._body_pack(pack, shared, rows))
                        pack = []
                    pack.append(tree)
                plans.extend(self._body_pack(pack, shared, rows))
            hidden = torch.cat(rows) if rows else torch.empty(0)
            pairs = sorted({step for plan in plans for steps in plan for step in steps})
            got = dict(zip(pairs, self._logprobs(hidden, torch.tensor([r for r, _ in pairs], dtype=torch.long),
                                                 torch.tensor([t for _, t in pairs], dtype=torch.long)).tolist(),
                           strict=True))
        return [[sum(got[step] for step in steps) for steps in plan] for plan in plans]

    def _body_pack(self, pack: Sequence[_Subtree], shared: int, rows: list[torch.Tensor]
                   ) -> list[list[list[tuple[int, int]]]]:
        """One pass of the model body over a pack's nodes. Appends the hidden states of the nodes whose
        next-token distribution some continuation reads to `rows`, and returns each tree's steps with
        nodes renumbered as indices into the concatenation of `rows`."""
        tokens, parents, depths = [], [], []
        offsets = []
        for tree in pack:
            off = len(tokens)
            offsets.append(off)
            tokens += tree.tokens
            depths += tree.depths
            parents += [p + off if p >= 0 else -1 for p in tree.parents]
        n = len(tokens)
        # a node sees its ancestors and itself: its parent's row plus its own column
        own = np.zeros((n, n), dtype=bool)
        for i, p in enumerate(parents):
            if p >= 0:
                own[i] = own[p]
            own[i, i] = True
        visible = torch.cat([torch.ones(n, shared, dtype=torch.bool), torch.from_numpy(own)], dim=1)
        q_pos = torch.tensor(depths)
        k_pos = torch.cat([torch.arange(shared), q_pos])
        start = self._sliding_start(shared, int(q_pos.min()))
        cache = _KeyValues(self.prefix.keys, self.prefix.values, record=False, starts=self._starts(start))
        hidden = self.body(input_ids=torch.tensor([tokens]), attention_mask=self._masks(q_pos, k_pos, visible, start),
                           position_ids=q_pos[None], past_key_values=cache, use_cache=True).last_hidden_state[0]
        read = sorted({node + off for tree, off in zip(pack, offsets, strict=True)
                       for plan in tree.steps for node, _ in plan})
        base = sum(len(r) for r in rows)
        row_of = {node: base + i for i, node in enumerate(read)}
        rows.append(hidden[read])
        return [[[(row_of[node + off], tok) for node, tok in plan] for plan in tree.steps]
                for tree, off in zip(pack, offsets, strict=True)]

    def _logprobs(self, hidden: torch.Tensor, rows: torch.Tensor, toks: torch.Tensor) -> torch.Tensor:
        """log softmax(lm_head(hidden))[rows, toks]. The projection goes `proj_rows` rows by
        `vocab_block` vocabulary entries at a time, each block's logsumexp taken while its logits are
        still in cache."""
        head = self.model.get_output_embeddings()
        weight, bias = head.weight, head.bias
        dtype = torch.promote_types(self.dtype, torch.float32)  # bf16 models: log-softmax in float32
        picked = torch.empty(len(rows), dtype=dtype)
        lse = torch.empty(hidden.shape[0], dtype=dtype)
        for s in range(0, hidden.shape[0], self.proj_rows):
            h = hidden[s : s + self.proj_rows]
            in_rows = (rows >= s) & (rows < s + len(h))
            blocks = []
            for v in range(0, weight.shape[0], self.vocab_block):
                logits = torch.nn.functional.linear(h, weight[v : v + self.vocab_block],
                                                    None if bias is None else bias[v : v + self.vocab_block])
                if self.softcap is not None:
                    logits = torch.tanh(logits / self.softcap) * self.softcap
                logits = logits.to(dtype)
                blocks.append(torch.logsumexp(logits, dim=-1))
                sel = in_rows & (toks >= v) & (toks < v + logits.shape[1])
                picked[sel] = logits[rows[sel] - s, toks[sel] - v]
            lse[s : s + len(h)] = torch.logsumexp(torch.stack(blocks, dim=-1), dim=-1)
        return picked - lse[rows]


def load_tree_scorer(path: str) -> TreeScorer:
    """A scorer over the model folder's float32 weights, loaded with transformers."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return TreeScorer(model.eval())
