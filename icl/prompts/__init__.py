"""The prompts step: Jinja templates rendered into `Prompt`s (`render`), each render under a time budget
(`budget`), and templates checked against what their task provides (`lint`). The `Prompt` it makes
lives in icl.values, so engines import it without loading Jinja or the tasks."""
