"""One error type for everything a user can get wrong.

The CLI turns an `IclError` into a single line on stderr and exit status 2, so every message must
name what was wrong and where (file:line, or the config key), without a traceback.
"""

from __future__ import annotations


class IclError(Exception):
    """A problem with user input (config, data, templates, lexicons, endpoints), not a bug."""


class ConfigError(IclError):
    """A sweep YAML or command-line value that cannot be used; the message names the key."""


class DataError(IclError):
    """A data file that is missing or malformed; the message names the file (and line)."""


class MissingFileError(DataError):
    """A data file that is not in the data folder (a language a data set has, but not here)."""


class TemplateError(IclError):
    """A prompt template that does not parse or render; the message names file:line."""


class EngineError(IclError):
    """An engine that cannot be started or reached (unreachable endpoint, missing package)."""
