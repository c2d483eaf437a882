#!/usr/bin/env bash
# A build without the `simulator` feature (a production binary, which keeps
# the `browser` feature) carries none of the simulated marketplace, and
# `demo` and `simulate` still answer: one line on stderr saying how to get
# them, and a non-zero exit.
# Builds into its own target dir so the default-feature builds are untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

target=target/no-sim
cargo build --locked --no-default-features --features browser --bin air-demand --target-dir "$target"
bin=$PWD/$target/debug/air-demand

fail() {
    echo "no-simulator: $*" >&2
    exit 1
}

# The check only means something if the binary has symbols at all.
symbols=$(nm -C "$bin")
ours=$(grep -c 'air_demand::' <<<"$symbols" || true)
[ "$ours" -gt 0 ] || fail "$bin has no air_demand symbols to check (stripped?)"
sim=$(grep -c 'air_demand::sim' <<<"$symbols" || true)
demo=$(grep -c 'air_demand::demo' <<<"$symbols" || true)
[ "$sim" -eq 0 ] || fail "$sim air_demand::sim symbols in a build without the simulator"
[ "$demo" -eq 0 ] || fail "$demo air_demand::demo symbols in a build without the simulator"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for command in "demo --dir $scratch/data" "simulate --port 8077"; do
    status=0
    # shellcheck disable=SC2086 # the command's words split on purpose
    (cd "$scratch" && "$bin" $command) >"$scratch/out" 2>"$scratch/err" || status=$?
    name=${command%% *}
    [ "$status" -ne 0 ] || fail "\`air-demand $name\` exited 0"
    [ ! -s "$scratch/out" ] || fail "\`air-demand $name\` printed on stdout: $(cat "$scratch/out")"
    lines=$(wc -l <"$scratch/err")
    [ "$lines" -eq 1 ] || fail "\`air-demand $name\` wrote $lines lines on stderr, not one: $(cat "$scratch/err")"
    grep -q '^error: this air-demand was built without the simulated marketplace: build it with the default features' "$scratch/err" ||
        fail "\`air-demand $name\` said: $(cat "$scratch/err")"
    [ ! -e "$scratch/data" ] || fail "\`air-demand $name\` left $scratch/data behind"
done

echo "no-simulator: $ours air_demand symbols, 0 from sim or demo; demo and simulate refuse in one line"
