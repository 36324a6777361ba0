#!/bin/sh
# Bounded fuzz smoke for CI: builds every fuzz target, seeds the corpora (fuzz/seed.sh: test data
# and saved regressions), then runs each target over its corpus for a few seconds. Fails if any
# target crashes, fails an assertion, times out on one input or runs out of memory.
#
#   fuzz/smoke.sh                      # every target, FUZZ_SECONDS (default 20) each
#   FUZZ_SECONDS=60 fuzz/smoke.sh ca_csr push_wns
#
# One fuzzer process at a time (no -jobs, no -fork: libFuzzer's -jobs=N spawns worker
# processes and logs to fuzz-N.log): the CI box has 2 cores.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

seconds=${FUZZ_SECONDS:-20}
runs=${FUZZ_RUNS:-5000000}
targets=${*:-"syncml_parse enroll_soap sts_form ca_csr dm_raw_command push_wns"}

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
# cargo-fuzz needs nightly-only flags (-Zsanitizer=address); this lets stable Rust accept them.
export RUSTC_BOOTSTRAP=1

./seed.sh
cargo fuzz build

dict_of() {
    case $1 in
    syncml_parse | dm_raw_command) echo syncml.dict ;;
    *) echo "$1.dict" ;;
    esac
}

failed=""
for target in $targets; do
    echo "== $target: up to ${seconds}s / $runs runs"
    if ! cargo fuzz run "$target" -- \
        -max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
        -dict="$(dict_of "$target")" -print_final_stats=1; then
        failed="$failed $target"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz smoke FAILED:$failed (inputs in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
echo "fuzz smoke passed: $targets"
