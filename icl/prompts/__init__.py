"""The prompts step: Jinja templates rendered into `Prompt`s (`render`), each render under a time budget
(`budget`), and templates checked against what their task provides (`lint`). `prompt` holds the
`Prompt` type alone, so engines can import it without loading Jinja or the tasks."""
