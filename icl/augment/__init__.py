"""The augment step: what a run's demonstrations and prompts gain beyond gold data: synthetic demos and
dictionary hints from a bilingual lexicon (`lexical/`), or demos the model labels itself (`selflabel`);
`augmenters` is the step's entry point and registry."""
