"""The run step: for every run of a sweep, its prompts (`items`), answers from the completion cache
(`cache`) or, for what it lacks, an engine (`answer`, the one service that talks to both), and the
results written (`runner`), with the time of each phase (`timings`); `plan` counts the same requests
without a model."""
