"""What a sweep will ask of its engines, before any model loads: `icl plan` and `icl run`'s size check.

`plan_sweep` builds every prompt exactly as the runner does (`icl.run.items.build_items`), computes the
runner's own cache keys, asks the completion cache which exist, counts prompt tokens with the model's
own tokenizer, and estimates the time of what is missing from the throughput the cache recorded for
that engine identity. Nothing here loads a model or starts an engine.

Building prompts can take long (lexicon hints, synthetic demos and BM25 indexes: about 40 s for
experiments/lowres_gains.yaml on two cores), so each run's keys and token counts are remembered in
`cache_dir()/plans/`, valid while nothing that prompts are made of has changed: the run's spec, the
engine identity, the tokenizer, the data set declarations, and the size and modification time of every
file under the icl package (but its analysis and cli code), the templates, the lexicon catalogue, the
data folder and the synthetic-demo cache. Any change there rebuilds every run.

(`icl.sweep.count` counts a sweep's runs from its parsed lists without building a `RunSpec`, so `icl
run` and `icl plan` can refuse a sweep that is far too large at once.)

`quick_plan` reads only the data (test items, label inventories) for an upper bound of the work and
its time in a few seconds; `icl plan` prints it before building prompts (`--quick`: only that).

Modules: `quick` (the data-only upper bound),
`tokens` (the model's tokenizer), `memo` (what a plan remembers), `build` (`plan_sweep`).
"""

from icl.run.plan.build import Estimate, ModelPlan, Plan, plan_sweep
from icl.run.plan.memo import inputs_stamp
from icl.run.plan.quick import QuickCount, quick_plan
from icl.run.plan.tokens import TokenCounter, token_counter

__all__ = ["Estimate", "ModelPlan", "Plan", "QuickCount", "TokenCounter", "inputs_stamp", "plan_sweep", "quick_plan",
           "token_counter"]
