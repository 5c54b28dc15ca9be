#!/usr/bin/env bash
# The default recipe on variants of MNIST: `train` with its defaults for 20 epochs on each
# variant folder, once per seed, as a Markdown table of the test accuracy (mean, min–max)
# and the data set the run recorded.
#
#   bench/variants.sh BINARY FOLDER SEED...
#   bench/variants.sh target/release/mnist-mlp /tmp/variants 42 1 2
#
# FOLDER holds one folder of IDX files per variant, as the ignored test
# real_data::variants::write_variants_for_measurement writes them (docs/testing.md).
# Every run writes its outputs to a temporary folder; MNIST_DATA_DIR is ignored.
set -euo pipefail

if [ $# -lt 3 ]; then
  sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
binary="$(realpath "$1")"
variants="$(realpath "$2")"
shift 2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "| variant | mean test accuracy | min – max | dataset |"
echo "|---|---|---|---|"
for dir in "$variants"/*/; do
  name="$(basename "$dir")"
  accuracies=()
  dataset=""
  for seed in "$@"; do
    summary="$(cd "$work" && env -u MNIST_DATA_DIR "$binary" train --data-dir "$dir" --offline \
      --epochs 20 --seed "$seed" --json --weights w.bin --plot p.png --metrics m.csv \
      --run-log runs.jsonl | tail -n 1)"
    accuracies+=("$(sed -n 's/.*"test_accuracy":\([0-9.eE+-]*\).*/\1/p' <<<"$summary")")
    dataset="$(sed -n 's/.*"dataset":"\{0,1\}\([^",}]*\).*/\1/p' <<<"$summary")"
  done
  printf '%s\n' "${accuracies[@]}" | awk -v name="$name" -v dataset="$dataset" '
    { sum += $1; if (NR == 1 || $1 < min) min = $1; if ($1 > max) max = $1 }
    END { printf "| %s | %.2f%% | %.2f – %.2f%% | %s |\n",
          name, 100 * sum / NR, 100 * min, 100 * max, dataset }'
done
