"""Tasks as objects: what data a task reads, what its templates see, how its outputs become
predictions, and how they are scored and compared (`base` says what a task is).

Adding a task is one module here (a class satisfying `Task`) plus its templates under
`prompts/<task>/`; every other step asks the task object instead of testing the task's name.
"""

from __future__ import annotations

from icl.errors import ConfigError
from icl.tasks.base import Axis, Mode, SyntheticRecipe, Task, argmax
from icl.tasks.intent import IntentTask
from icl.tasks.mt import MtTask

TASKS: dict[str, Task] = {"mt": MtTask(), "intent": IntentTask()}
"""Task name -> task."""


def get_task(name: str, key: str = "task") -> Task:
    """A task by name; ConfigError naming the known ones."""
    if name not in TASKS:
        raise ConfigError(f"{key}: unknown task {name!r} (known: {', '.join(TASKS)})")
    return TASKS[name]


def get_mode(task: str, mode: str, key: str = "mode") -> Mode:
    """A task's mode by name; ConfigError naming the task's modes."""
    modes = get_task(task).modes
    if mode not in modes:
        raise ConfigError(f"{key}: task {task} has no mode {mode!r} (modes: {', '.join(modes)})")
    return modes[mode]


__all__ = ["TASKS", "Axis", "Mode", "SyntheticRecipe", "Task", "argmax", "get_mode", "get_task"]
