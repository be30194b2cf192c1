"""`icl lexicon ...`: lexicon size and coverage, and how well inflection tables reproduce SIGMORPHON.

A Typer sub-app; icl.cli.main mounts it as `icl lexicon`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from icl.cli.common import clean_errors

app = typer.Typer(help="Bilingual lexicons and morphology: sizes, English coverage, inflection accuracy.",
                  no_args_is_help=True)


@app.command()
@clean_errors
def stats(lang: Annotated[list[str] | None, typer.Option(
        "--lang", "-l", help="Language code(s); default: every catalogue language.")] = None) -> None:
    """Entries per source and English token/type coverage (FLORES-200 devtest, MASSIVE en-US)."""
    from icl.augment.lexical.catalogue import lexicon_languages
    from icl.augment.lexical.coverage import lexicon_stats

    langs = lang or lexicon_languages()
    table = Table(title="Lexicon coverage of English (greedy longest match, en-xx lexicon)")
    for col in ("lang", "sources", "entries", "FLORES tok", "FLORES type", "MASSIVE tok", "MASSIVE type"):
        table.add_column(col, justify="left" if col in ("lang", "sources") else "right")
    for code in langs:
        s = lexicon_stats(code)
        cov = {c.corpus: c for c in s.coverage}
        flores, massive = cov["flores200-devtest"], cov["massive-en-US"]
        table.add_row(s.lang, ", ".join(f"{src} {n}" for src, n in s.entries_by_source), str(s.entries),
                      f"{flores.token_coverage:.1%}", f"{flores.type_coverage:.1%}",
                      f"{massive.token_coverage:.1%}", f"{massive.type_coverage:.1%}")
    Console().print(table)


@app.command("morph-eval")
@clean_errors
def morph_eval(
    lang: Annotated[list[str] | None, typer.Option(
        "--lang", "-l", help="Language code(s); default: all with UniMorph and SIGMORPHON.")] = None,
    split: Annotated[str, typer.Option(help="SIGMORPHON split: trn, dev or tst.")] = "tst",
    fallback: Annotated[bool, typer.Option(help="Inflect uncovered lemmas with affix rules learned on trn.")] = True,
) -> None:
    """Exact-match accuracy of UniMorph table lookup on SIGMORPHON items, per language."""
    from icl.augment.lexical.sigmorphon import inflection_accuracy, morph_languages

    langs = lang or morph_languages()
    table = Table(title=f"UniMorph table lookup vs SIGMORPHON {split}")
    for col in ("lang", "table / task", "items", "coverage", "accuracy", "acc covered", "gold in cell",
                "rules only", "table+rules"):
        table.add_column(col, justify="left" if col in ("lang", "table / task") else "right")
    for code in langs:
        a = inflection_accuracy(code, split, fallback)
        rules, combined = a.rules_accuracy, a.combined_accuracy
        data = a.data.replace("unimorph:", "").replace(" vs sigmorphon:", " / ")
        table.add_row(a.lang, data, str(a.items), f"{a.coverage:.1%}", f"{a.accuracy:.1%}",
                      f"{a.covered_accuracy:.1%}", f"{a.in_cell / a.covered:.1%}" if a.covered else "-",
                      f"{rules:.1%}" if rules is not None else "-",
                      f"{combined:.1%}" if combined is not None else "-")
    Console().print(table)
