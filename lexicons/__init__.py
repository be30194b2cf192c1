"""The lexicon catalogue, shipped as package data: this folder is installed as `icl._lexicons`
(pyproject.toml maps it). `catalogue.yaml` says which lexicon files each language has; the files
themselves stay in the data folder. Nothing here is Python."""
