"""Everything a bilingual lexicon and morphology add to a run.

`tokens` (what a word is), `lexicon` (the Lexicon type), `readers` (one per file format),
`catalogue` (which files each language has, merged loading), `coverage` (`icl lexicon stats`),
`unimorph` (inflection tables), `sigmorphon` (shared-task data, `icl lexicon morph-eval`),
`inflect` (morphology-aware word translation), `pseudo` (word-by-word translation), `synthetic`
(synthetic demonstrations), `hints` (dictionary hints) and `augment` (the sweep step that joins them).
"""
