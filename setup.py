"""Package discovery, the one part of the build pyproject.toml cannot declare.

`find` cannot rename a folder, and prompts/ and lexicons/ stay at the top of the checkout (where
researchers edit them) while they install as `icl._prompts` and `icl._lexicons` (the mapping is
pyproject.toml's `[tool.setuptools.package-dir]`). Namespace discovery also lists the data-only
folders (`icl.resources.datasets`, `icl._prompts.mt`, ...) as packages, so setuptools ships their
files without warning that they would be ignored. Everything else lives in pyproject.toml.
"""

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent
SKIP = ["__pycache__", "*.__pycache__"]


def mapped_folders() -> dict[str, str]:
    """pyproject.toml's package-dir: installed package name -> folder in the checkout."""
    config = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["setuptools"]["package-dir"]


def discover() -> list[str]:
    """Every package and data folder under icl/, plus the mapped folders and their sub-folders."""
    found = find_namespace_packages(str(HERE), include=["icl", "icl.*"], exclude=SKIP)
    for name, folder in mapped_folders().items():
        found += [name] + [f"{name}.{sub}" for sub in find_namespace_packages(str(HERE / folder), exclude=SKIP)]
    return sorted(found)


if __name__ == "__main__":
    setup(packages=discover())
