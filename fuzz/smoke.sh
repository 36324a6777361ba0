#!/bin/sh
# Bounded fuzz smoke for CI: builds every fuzz target, seeds the corpora (fuzz/seed.sh: test data
# and saved regressions), then runs each target over its corpus for a few seconds. Fails if any
# target crashes, fails an assertion, times out on one input or runs out of memory.
#
#   fuzz/smoke.sh                      # every target, FUZZ_SECONDS (default 20) each
#   FUZZ_SECONDS=60 fuzz/smoke.sh ca_csr push_wns
#   FUZZ_REPLAY=1 fuzz/smoke.sh        # what .ci/run does: every stored input once, no mutation
#
# FUZZ_REPLAY=1 runs each target over its stored corpus (the crates' test data and the saved
# regressions) exactly once, without mutating it: deterministic, so a CI run cannot turn red on
# a new finding that has nothing to do with the change under test (finding those is what the long
# runs in fuzz/README.md are for). It builds without optimisation (--dev), which is faster to
# build and fast enough to replay a few thousand inputs.
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
if [ -n "${FUZZ_REPLAY:-}" ]; then
    profile=--dev
    limits="-runs=0"
else
    profile=
    limits="-max_total_time=$seconds -runs=$runs"
fi
# shellcheck disable=SC2086 # $profile and $limits are word lists on purpose
cargo fuzz build $profile

dict_of() {
    case $1 in
    syncml_parse | dm_raw_command) echo syncml.dict ;;
    *) echo "$1.dict" ;;
    esac
}

failed=""
for target in $targets; do
    echo "== $target: $limits"
    # shellcheck disable=SC2086
    if ! cargo fuzz run $profile "$target" -- \
        $limits -timeout=10 -rss_limit_mb=2048 \
        -dict="$(dict_of "$target")" -print_final_stats=1; then
        failed="$failed $target"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz smoke FAILED:$failed (inputs in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
echo "fuzz smoke passed: $targets"
