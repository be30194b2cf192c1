"""The run step: for every run of a sweep, its prompts (`items`), what the completion cache (`cache`)
lacks sent to an engine (`engine_calls`), and the results written (`runner`), with the time of each
phase (`timings`); `plan` counts the same requests without a model."""
