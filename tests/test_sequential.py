"""Sequential studies: boundaries against published values, the paired-accuracy interval against worked
examples, the design's checks, the family's procedure case by case, error rates by simulation (normal looks and
real outputs resampled), and a sweep run in looks that replays the same decisions after a kill."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from icl.analysis.boundaries import boundaries, crossing_probability, repeated_p
from icl.analysis.sequential import EFFECT, NO_EFFECT, OPEN, LookStat, RowPath, decide
from icl.analysis.simulate import simulate_items, simulate_normal, simulate_paired
from icl.errors import ConfigError
from icl.metrics.mt_stats import scores_from_stats
from icl.metrics.proportions import bonett_price_interval, mcnemar_score_test, tango_interval
from icl.sweep.design import Design, schedule

QUARTERS = (0.25, 0.5, 0.75, 1.0)
ITEMS = Path(__file__).parent / "data" / "quickstart_items.npz"
"""Per-item statistics of the quickstart's real outputs (Gemma-3-270m): chrF++ sentence statistics of its six MT
run pairs (0 vs 1 and 0 vs 5 shots, fra/swa/spa, 50 FLORES devtest items) and right/wrong of its three intent run
pairs (0 vs 4 shots, 40 MASSIVE items): the population the error-rate simulations resample."""


# --- boundaries ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha,spending,expected", [
    # ../shared/notes/sequential-boundaries.md, row 1: each side spends one-sided 0.025 (gsDesign's symmetric
    # design; Jennison & Turnbull's classical two-sided 0.05 Lan-DeMets O'Brien-Fleming bounds)
    (0.05, "obf", (4.333, 2.963, 2.359, 2.014)),
    # row 3: one-sided 0.05, i.e. a two-sided 0.10 whose sides each spend 0.05
    (0.10, "obf", (3.750, 2.540, 2.016, 1.720)),
    # Lan-DeMets Pocock type, two-sided 0.05, four looks: nearly flat at 2.37-2.35 (gsDesign's sfLDPocock)
    (0.05, "pocock", (2.368, 2.368, 2.358, 2.350)),
])
def test_boundaries_are_the_published_ones(alpha: float, spending: str, expected: tuple[float, ...]) -> None:
    assert boundaries(alpha, QUARTERS, spending) == pytest.approx(expected, abs=2e-3)


@pytest.mark.parametrize("alpha", [0.05, 0.05 / 18, 0.001])
def test_boundaries_spend_what_the_function_says(alpha: float) -> None:
    """Integrated crossing probability equals alpha/2 per side, and scipy's multivariate normal (an independent,
    randomised computation) agrees."""
    from scipy.stats import multivariate_normal

    bounds = boundaries(alpha, QUARTERS)
    assert crossing_probability(bounds, QUARTERS) == pytest.approx(alpha / 2, rel=1e-5)
    cov = np.array([[math.sqrt(min(a, b) / max(a, b)) for b in QUARTERS] for a in QUARTERS])
    mvn = 1 - multivariate_normal(mean=np.zeros(4), cov=cov).cdf(np.array(bounds))
    assert mvn == pytest.approx(alpha / 2, rel=2e-2)


def test_one_look_is_the_fixed_design_and_a_repeated_p_inverts_the_boundary() -> None:
    assert boundaries(0.05, (1.0,)) == pytest.approx((1.959964,), abs=1e-5)
    bounds = boundaries(0.01, QUARTERS)
    for look, c in enumerate(bounds, 1):
        assert repeated_p(c, QUARTERS, look) == pytest.approx(0.01, rel=1e-3)
    assert repeated_p(0.0, QUARTERS, 2) == 1.0


# --- paired accuracy: Tango's score interval ----------------------------------------------------------------

@pytest.mark.parametrize("wins,losses,n,low,high", [
    # Fagerland, Lydersen & Laake (2014), airway hyper-responsiveness before and after stem cell transplantation
    # (Bentur et al. 2009: 1 | 1 / 7 | 12): Tango's asymptotic score interval -0.517 to -0.026
    (1, 7, 21, -0.5172, -0.0260),
    # the quickstart's English intent row, 25 wins and 0 losses of 40 (+62.5): the old exact conditional interval
    # ended at the estimate; Tango's does not
    (25, 0, 40, 0.4703, 0.7578),
])
def test_tango_interval_worked_examples(wins: int, losses: int, n: int, low: float, high: float) -> None:
    got = tango_interval(wins, losses, n)
    assert got == pytest.approx((low, high), abs=1e-4)
    assert got[0] < (wins - losses) / n < got[1]


@pytest.mark.parametrize("wins,losses,n", [(1, 7, 21), (25, 0, 40), (20, 5, 100), (3, 3, 30), (0, 9, 12)])
def test_tango_interval_is_the_closed_form_and_agrees_with_the_score_test(wins: int, losses: int, n: int) -> None:
    """Yang, Sun & Hardin's (2012) non-iterative form of Tango's interval: the smallest and largest real roots of
    a quartic; the interval excludes 0 exactly when McNemar's score test rejects at 0.05."""
    g = 1.959963984540054 ** 2
    b, c, big_n = wins, losses, n
    coeffs = [big_n**2 * (big_n / g + 1) ** 2,
              -big_n * (b - c) * (big_n / g + 1) * (4 * big_n / g + 1),
              2 * big_n * (b - c) ** 2 * (3 * big_n / g + 2) / g - big_n**2 * ((b + c) / g + 1),
              big_n * (b - c) * (2 * (b + c) / g + 1) - (b - c) ** 3 * (4 * big_n / g + 1) / g,
              (b - c) ** 2 * ((b - c) ** 2 / g - (b + c)) / g]
    roots = sorted(r.real for r in np.roots(coeffs) if abs(r.imag) < 1e-7)
    low, high = tango_interval(wins, losses, n)
    assert (low, high) == pytest.approx((roots[0], roots[-1]), abs=1e-6)
    _, p, _, _ = mcnemar_score_test(wins, losses)
    assert (low > 0 or high < 0) == (p <= 0.05)


def test_bonett_price_matches_the_issue_example() -> None:
    """25 wins, 0 losses of 40: Bonett-Price's adjusted Wald interval [+43.3, +75.8] (the issue's worked value)."""
    low, high = bonett_price_interval(25, 0, 40)
    assert (round(100 * low, 1), round(100 * high, 1)) == (43.3, 75.8)


# --- the design ---------------------------------------------------------------------------------------------

def _sweep_file(tmp_path: Path, sequential: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text("name: seq\nmodels: [{name: fake, engine: hf}]\n"
                    "mt: {languages: [fra], shots: [0, 1], limit: 20}\n"
                    "gains:\n  - {name: demos, family: f, baseline: {shots: 0}, system: {shots: 1}}\n"
                    + sequential, encoding="utf-8")
    return path


@pytest.mark.parametrize("body,message", [
    ("sequential: {looks: 4, effects: {chrf++: 3}, stop: 2}\n", "sequential.stop: unknown key"),
    ("sequential: {looks: 0, effects: {chrf++: 3}}\n", "sequential.looks: expected 1 to 20 looks"),
    ("sequential: {spending: linear, effects: {chrf++: 3}}\n", "sequential.spending: unknown 'linear'"),
    ("sequential: {effects: {accuracy: 8}}\n", "sequential.effects.accuracy: not a metric"),
    ("sequential: {effects: {chrf++: -1}}\n", "sequential.effects.chrf++: expected a positive number"),
    ("sequential: {effects: {chrf++: 3}, alpha: 0.7}\n", "sequential.alpha: expected a level"),
    ("sequential: {effects: {chrf++: 3}, families: [lexicon]}\n", "sequential.families[0]: 'lexicon' is no"),
    ("sequential: {looks: 4}\n", "sequential.effects: expected a mapping"),
])
def test_bad_designs_name_their_key(tmp_path: Path, body: str, message: str) -> None:
    from icl.sweep.load import load_grid

    with pytest.raises(ConfigError, match=None) as info:
        load_grid(_sweep_file(tmp_path, body))
    assert message in str(info.value) and str(tmp_path / "s.yaml") in str(info.value)


def test_a_design_parses_and_its_schedule_is_quarters(tmp_path: Path) -> None:
    from icl.sweep.load import load_sweep

    sweep = load_sweep(_sweep_file(tmp_path, "sequential: {looks: 4, spending: pocock, effects: {chrf++: 3}}\n"))
    assert sweep.design == Design(4, "pocock", 0.05, (("chrf++", 3.0),), ())
    assert schedule(120, 4) == (30, 60, 90, 120) and schedule(10, 4) == (3, 5, 8, 10) and schedule(2, 4) == (1, 2)


# --- the family's procedure ---------------------------------------------------------------------------------

def _row(key: str, zs: Sequence[float], metric: str = "chrf++") -> RowPath:
    """A corpus row whose looks have these z values (pseudo-values with a standard deviation of 20 points, so
    no look is narrow enough for `no effect`; the centre solved for z)."""
    looks = []
    plan = schedule(160, 4)
    for n, z in zip(plan, zs, strict=False):
        spread = 400.0 * n
        # z = n c / sqrt(spread + n c^2)  =>  c = z sqrt(spread) / sqrt(n (n - z^2))
        centre = math.copysign(abs(z) * math.sqrt(spread) / math.sqrt(n * (n - z * z)), z) if z else 0.0
        looks.append(LookStat.corpus(n, centre, centre, spread))
    return RowPath(key, "f", metric, tuple(n / plan[-1] for n in plan), tuple(looks))


def test_a_row_that_crosses_is_an_effect_at_that_look() -> None:
    design = Design(4, "obf", 0.05, (("chrf++", 3.0),))
    (d,) = decide([_row("a", [1.0, 3.2, 3.0, 3.0])], design)
    assert (d.decision, d.look) == (EFFECT, 2)  # 3.2 > 2.963 at look 2
    assert d.rci_low > 0 and d.boundary == pytest.approx(2.963, abs=1e-3)


def test_a_rejection_passes_its_alpha_and_past_looks_are_tested_again() -> None:
    """Two rows at 0.025 each: B's 2.2 at look 4 misses its own boundary (2.28) until A's rejection gives it
    the family's 0.05 (boundary 2.01); with A null, B stays open."""
    design = Design(4, "obf", 0.05, (("chrf++", 3.0),))
    a_effect, a_null = _row("a", [5.0, 5.0, 5.0, 5.0]), _row("a", [0.5, 0.5, 0.5, 0.5])
    b = _row("b", [0.5, 0.5, 0.5, 2.2])
    assert [d.decision for d in decide([a_null, b], design)] == [OPEN, OPEN]
    da, db = decide([a_effect, b], design)
    assert (da.decision, da.look, db.decision, db.look) == (EFFECT, 1, EFFECT, 4)
    assert db.alpha == pytest.approx(0.05)


def test_a_row_inside_the_smallest_effect_stops_for_no_effect() -> None:
    design = Design(4, "obf", 0.05, (("chrf++", 3.0),))
    tight = RowPath("t", "f", "chrf++", QUARTERS, tuple(LookStat.corpus(n, 0.1, 0.1, n * 4.0) for n in (40, 80, 120, 160)))
    (d,) = decide([tight], design)
    assert (d.decision, d.look) == (NO_EFFECT, 1)
    assert -3 < d.family_low < d.family_high < 3


@pytest.mark.parametrize("seed", range(5))
def test_every_interval_agrees_with_its_test(seed: int) -> None:
    """At any critical value, a look's interval excludes 0 exactly when |z| reaches it (corpus and accuracy)."""
    rng = np.random.default_rng(seed)
    for _ in range(50):
        n = int(rng.integers(5, 200))
        crit = float(rng.uniform(1.5, 5.0))
        corpus = LookStat.corpus(n, 0.0, float(rng.normal(0, 2)), float(rng.uniform(1, 500)) * n)
        wins = int(rng.integers(0, n // 2 + 1))
        paired = LookStat.paired(n, 0.0, wins, int(rng.integers(0, n - wins + 1)))
        for stat in (corpus, paired):
            low, high = stat.interval(crit)
            if abs(abs(stat.z) - crit) > 1e-6:
                assert (low > 0 or high < 0) == (abs(stat.z) >= crit)


# --- error rates by simulation ------------------------------------------------------------------------------

def _population(kind: str) -> list[tuple[np.ndarray, np.ndarray]]:
    data = np.load(ITEMS)
    count = sum(1 for k in data.files if k.startswith(f"{kind}_b"))
    return [(data[f"{kind}_b{i}"].astype(np.float64), data[f"{kind}_s{i}"].astype(np.float64)) for i in range(count)]


def _chrf(stats: np.ndarray) -> np.ndarray:
    return scores_from_stats("chrf++", stats)


def _within(rate: float, level: float, families: int) -> bool:
    """A simulated error rate is consistent with at most `level`: a one-sided binomial test at 5% (the estimate
    of 2,000 families has a standard error of ~0.5 points; benchmarks/bench_sequential.py runs 16,000)."""
    return rate <= level + 1.645 * math.sqrt(level * (1 - level) / families)


def test_null_families_with_normal_looks_keep_the_family_wise_error() -> None:
    """2,000 families of 6 null rows, 4 looks: at most 5% of families show any effect, and the repeated intervals
    cover the truth in at least 95% of rows (both up to a one-sided test of the simulation's own error)."""
    design = Design(4, "obf", 0.05, (("chrf++", 3.0),))
    result = simulate_normal([0.0] * 6, [1.0] * 6, design, 120, families=2000, seed=1)
    assert _within(result.fwer, 0.05, 2000) and _within(1 - result.coverage, 0.05, 12000)


@pytest.mark.parametrize("max_items", [40, 120])
def test_null_families_of_real_mt_outputs_keep_the_family_wise_error(max_items: int) -> None:
    """2,000 families of the six real MT pairs under the paired null (each item's two outputs swapped at random),
    tested as a study tests them, down to 10-item first looks where a corpus statistic is least normal."""
    design = Design(4, "obf", 0.05, (("chrf++", 3.0),))
    result = simulate_items(_population("chrf"), _chrf, design, max_items, families=2000, seed=max_items)
    assert _within(result.fwer, 0.05, 2000) and _within(1 - result.coverage, 0.05, 12000)


def test_null_families_of_real_intent_outputs_keep_the_family_wise_error() -> None:
    """The same for paired accuracy (the three real intent pairs), at 10-item looks."""
    design = Design(4, "obf", 0.05, (("accuracy", 8.0),))
    result = simulate_paired(_population("acc"), design, 40, families=2000, seed=7)
    assert _within(result.fwer, 0.05, 2000) and _within(1 - result.coverage, 0.05, 6000)


def test_power_at_the_fixed_designs_mde_with_fewer_items() -> None:
    """Rows whose true gain is the fixed design's MDE at the family's level (6 rows, alpha/6, 80% power): the
    sequential design with a maximum 10% above the fixed design's items detects each in at least ~80% of
    studies (2 standard errors) and stops them earlier on average than the fixed design's items."""
    from scipy.stats import norm

    design = Design(4, "obf", 0.05, (("chrf++", 3.0),))
    se_fixed = 1.0
    mde = (norm.isf(0.05 / 6 / 2) + norm.ppf(0.8)) * se_fixed
    inflation = 1.1
    result = simulate_normal([mde] * 6, [se_fixed / math.sqrt(inflation)] * 6, design, 110, families=2000, seed=3)
    assert min(result.power) >= 0.8 - 2 * math.sqrt(0.16 / 2000)
    assert result.mean_items() * inflation < 1.0


# --- a sweep in looks ---------------------------------------------------------------------------------------

class Oracle:
    """Answers demo-bearing prompts with the source reversed two times in three (by the prompt's hash), else the
    source: shots make a difference; two demo selectors make a noisy one."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.answered = 0

    def generate(self, prompts: Sequence, params: object, on_result: Callable | None = None) -> list:
        import hashlib

        from icl.engines import Completion

        outs = []
        for i, p in enumerate(prompts):
            if self.fail_after is not None and self.answered >= self.fail_after:
                raise KeyboardInterrupt("killed")
            text = p.as_key()
            last = text.rstrip().split("\n")[-2]
            odd = int(hashlib.sha256(text.encode()).hexdigest(), 16) % 3
            out = Completion(text=" " + (last[::-1] if text.count("\n\n") and odd else last))
            self.answered += 1
            if on_result is not None:
                on_result(i, out)
            outs.append(out)
        return outs

    def score(self, prompts: Sequence, continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        return [[-float(len(c)) for c in conts] for conts in continuations]

    def close(self) -> None:
        pass


SWEEP = """name: seq
models: [{name: fake, engine: hf}]
mt:
  languages: [fra, swa]
  shots: [0, 2]
  selectors: [first, random]
  limit: 40
  max_tokens: 16
gains:
  - {name: demos, family: f, baseline: {shots: 0}, system: {shots: 2}}
  - {name: random demos, family: f, baseline: {selector: first, shots: 2}, system: {selector: random, shots: 2}}
sequential: {looks: 4, effects: {chrf++: 3}}
"""


def _run(tmp_path: Path, results: str, engine: Oracle, cache: str = "cache.sqlite") -> Path:
    from icl.run.runner import run_sweep
    from icl.sweep.load import load_sweep

    path = tmp_path / "seq.yaml"
    path.write_text(SWEEP, encoding="utf-8")
    run_sweep(load_sweep(path), tmp_path / results, engine_factory=lambda model: engine,
              cache_path=tmp_path / cache)
    return tmp_path / results / "seq"


def test_a_sweep_runs_in_looks_and_decided_runs_get_no_more_items(tmp_path: Path) -> None:
    out = _run(tmp_path, "results", Oracle())
    looks = json.loads((out / "sequential.json").read_text())["looks"]
    study = json.loads((out / "gains.json").read_text())
    rows = {(r["pair"], r["comparison"], r["metric"]): r for r in study["rows"]}
    demos = rows[("eng-fra", "demos", "chrf++")]
    assert demos["decision"] == "effect" and demos["look"] < 4 and demos["n"] < demos["fixed_items"] == 40
    zero_shot = next(r for r in looks[-1]["items"] if "0shot" in r and "fra" in r)
    assert looks[-1]["items"][zero_shot] < 40  # its only comparison was decided: no more items
    counts = [len((out / run / "predictions.jsonl").read_text().splitlines()) for run in looks[-1]["items"]]
    assert sorted(counts) == sorted(looks[-1]["items"].values())
    assert study["design"]["looks"] == 4
    assert "| decision |" in (out / "gains.md").read_text() or "decision" in (out / "gains.md").read_text()


def test_a_killed_sequential_sweep_resumes_to_the_same_decisions(tmp_path: Path) -> None:
    whole = _run(tmp_path, "whole", Oracle(), cache="whole.sqlite")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "killed", Oracle(fail_after=150), cache="killed.sqlite")
    resumed = _run(tmp_path, "killed", Oracle(), cache="killed.sqlite")
    assert json.loads((resumed / "gains.json").read_text()) == json.loads((whole / "gains.json").read_text())
    assert json.loads((resumed / "sequential.json").read_text()) == json.loads((whole / "sequential.json").read_text())
    again = _run(tmp_path, "killed", Oracle(fail_after=0), cache="killed.sqlite")  # all cached: no engine call
    assert (again / "gains.md").read_text() == (whole / "gains.md").read_text()


# --- a second source of variance: demo draws --------------------------------------------------------------

def test_draws_are_pooled_into_one_row_whose_interval_covers_them(tmp_path: Path) -> None:
    """Two seeds of random demos: each seed's row stays (in a `per draw` family), and one pooled row per pair is
    what the family corrects, its two-level interval at least as wide as a seed's own and around their mean."""
    from icl.run.runner import run_sweep
    from icl.sweep.load import load_sweep

    path = tmp_path / "draws.yaml"
    path.write_text("name: draws\nmodels: [{name: fake, engine: hf}]\nseeds: [0, 1]\n"
                    "mt: {languages: [fra], shots: [0, 2], selectors: [random], limit: 30, max_tokens: 16}\n"
                    "gains:\n  - {name: demos, family: f, baseline: {shots: 0}, system: {shots: 2}}\n",
                    encoding="utf-8")
    run_sweep(load_sweep(path), tmp_path / "results", engine_factory=lambda model: Oracle(),
              cache_path=tmp_path / "c.sqlite")
    rows = json.loads((tmp_path / "results" / "draws" / "gains.json").read_text())["rows"]
    chrf = [r for r in rows if r["metric"] == "chrf++"]
    per_draw = [r for r in chrf if r["family"] == "f/chrf++/per draw"]
    (pooled,) = [r for r in chrf if r["family"] == "f/chrf++"]
    assert len(per_draw) == 2 and pooled["family_size"] == 1
    assert pooled["delta"] == pytest.approx(sum(r["delta"] for r in per_draw) / 2, abs=1e-3)
    assert pooled["ci_low"] <= pooled["delta"] <= pooled["ci_high"]
    assert "2 draws (seeds 0, 1" in pooled["method"]
    assert (pooled["ci_low"] > 0 or pooled["ci_high"] < 0) == (pooled["p_value"] <= 0.05)


def test_gains_of_a_folder_of_summaries_rewrites_nothing(tmp_path: Path) -> None:
    """A fresh clone's results/lowres_gains holds the study's summaries, not its runs: `icl gains` there says so
    and leaves the committed files as they are (it used to rewrite them empty)."""
    import shutil

    from typer.testing import CliRunner

    from icl.cli import app

    repo = Path(__file__).resolve().parent.parent / "results" / "lowres_gains"
    folder = tmp_path / "lowres_gains"
    folder.mkdir()
    for name in ("sweep.yaml", "gains.json", "gains.md", "runs.txt"):
        shutil.copyfile(repo / name, folder / name)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = CliRunner().invoke(app, ["gains", str(folder)])
    assert result.exit_code == 2 and "no run here has predictions" in result.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
