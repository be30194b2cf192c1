#!/usr/bin/env bash
# Re-runs sweeps from the completion cache with this tree's code and with an older commit's, each into
# a fresh results folder, and compares every file byte for byte. A refactor that changes no output must
# leave no difference but timings.json (each run's phase times).
#
#     bash scripts/identity_check.sh REV SWEEP.yaml [SWEEP.yaml ...]
#     bash scripts/identity_check.sh bc4b62e experiments/quickstart.yaml experiments/lowres_gains.yaml
#
# Both sides use this clone's .venv, its completion cache and the sweep files as they are here (so an
# older commit reads today's YAML); each side gets its own derived-data folder. A sweep that is not
# fully cached would start the model: check with `icl plan SWEEP` first (its "missing" column).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 REV SWEEP.yaml [SWEEP.yaml ...]" >&2; exit 2; }
rev=$1; shift
work=$(mktemp -d -t icl-identity-XXXX)
git worktree add -q --detach "$work/code-old" "$rev"
trap 'git worktree remove --force "$work/code-old"' EXIT
ICL_DATA_DIR=${ICL_DATA_DIR:-$(.venv/bin/python -c 'from icl.config import data_dir; print(data_dir())')}
export ICL_DATA_DIR  # the worktree's own default (../shared beside it) would not exist
status=0
for sweep in "$@"; do
  name=$(basename "$sweep" .yaml)
  for side in old new; do
    code=$PWD; [ "$side" = old ] && code=$work/code-old
    PYTHONPATH=$code ICL_PROMPTS_DIR=$code/prompts ICL_DERIVED_DIR=$work/derived-$side \
      .venv/bin/icl run "$sweep" --results "$work/$side" > "$work/$side-$name.log" 2>&1 \
      || { echo "$name ($side): icl run failed, see $work/$side-$name.log" >&2; exit 1; }
    grep -q "engine calls 0" "$work/$side-$name.log" \
      || { echo "$name ($side): not answered from the cache alone, see $work/$side-$name.log" >&2; exit 1; }
  done
  files=$(find "$work/new/$name" -type f | wc -l)
  if diff -r -q -x timings.json "$work/old/$name" "$work/new/$name"; then
    echo "$name: $files files, identical (timings.json left out)"
  else
    status=1
  fi
done
echo "folders: $work/old and $work/new"
exit $status
