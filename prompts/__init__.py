"""Prompt templates, shipped as package data: this folder is installed as `icl._prompts`
(pyproject.toml maps it), so templates are found the same way in a checkout and in a wheel.
Templates live at `<task>/<name>.j2`; nothing here is Python."""
