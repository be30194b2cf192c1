"""What a sweep will ask of its engines, before any model loads: `icl plan` and `icl run`'s size check.

`plan_sweep` builds every prompt exactly as the runner does (`icl.runner.build_items`), computes the
runner's own cache keys, asks the completion cache which exist, counts prompt tokens with the model's
own tokenizer, and estimates the time of what is missing from the throughput the cache recorded for
that engine identity. Nothing here loads a model or starts an engine.

Building prompts can take long (lexicon hints, synthetic demos and BM25 indexes: about 40 s for
experiments/lowres_gains.yaml on two cores), so each run's keys and token counts are remembered in
`cache_dir()/plans/`, valid while nothing that prompts are made of has changed: the run's spec, the
engine identity, the tokenizer, the data set declarations, and the size and modification time of every
file under the icl package (but its analysis and cli code), the templates, the lexicon catalogue, the
data folder and the synthetic-demo cache. Any change there rebuilds every run.

`count_runs` counts a sweep's runs from its parsed lists without building a `RunSpec` (a 900,000-run
sweep takes 40 s to expand), so `icl run` can refuse a sweep that is far too large at once.

`quick_plan` reads only the data (test items, label inventories) for an upper bound of the work and
its time in a few seconds; `icl plan` prints it before building prompts (`--quick`: only that).

Modules: `count` (cheap run counting and the size check), `quick` (the data-only upper bound),
`tokens` (the model's tokenizer), `memo` (what a plan remembers), `build` (`plan_sweep`).
"""

from icl.plan.build import Estimate, ModelPlan, Plan, plan_sweep
from icl.plan.count import RUN_LIMIT, check_run_count, count_runs, refuse_over_limit
from icl.plan.memo import inputs_stamp
from icl.plan.quick import QuickCount, quick_plan
from icl.plan.tokens import TokenCounter, token_counter

__all__ = ["RUN_LIMIT", "Estimate", "ModelPlan", "Plan", "QuickCount", "TokenCounter", "check_run_count",
           "count_runs", "inputs_stamp", "plan_sweep", "quick_plan", "refuse_over_limit", "token_counter"]
