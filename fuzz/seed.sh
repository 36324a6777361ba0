#!/bin/sh
# Seeds the corpus of every fuzz target (fuzz/corpus/<target>) from the crates' test data (real
# Windows captures and spec samples, see each testdata/README.md) and every saved fuzz regression.
# Run from anywhere: fuzz/seed.sh
#
# Targets whose first input byte picks a mode (ca_csr, dm_raw_command) get that byte written in
# front of the seed. Saved regressions are whole fuzz inputs and are copied as they are.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
crates="$here/../crates"

# seed TARGET TAG PREFIX DIR [find tests…]: copies the files under DIR (README.md excepted) into
# fuzz/corpus/TARGET, named TAG + their path below DIR with / flattened to __, with PREFIX (a
# printf format such as '\001', or '') written in front of their content.
seed() {
    target=$1 tag=$2 prefix=$3 dir=$4
    shift 4
    corpus="$here/corpus/$target"
    mkdir -p "$corpus"
    [ -d "$dir" ] || return 0
    find "$dir" -type f "$@" ! -name README.md | while read -r f; do
        rel=${f#"$dir"/}
        name=$tag$(printf '%s' "$rel" | sed 's|/|__|g')
        { printf "$prefix"; cat "$f"; } >"$corpus/$name"
    done
}

# syncml_parse: every SyncML sample of the codec, and its regressions.
seed syncml_parse "" "" "$crates/casement-syncml/testdata" \
    \( -name '*.xml' -o -path '*/fuzz-regressions/*' \)

# enroll_soap: every enrollment request and response sample (responses exercise the refusals).
seed enroll_soap "" "" "$crates/casement-enroll/testdata" -name '*.xml' ! -path '*/fuzz-regressions/*'
seed enroll_soap "" "" "$crates/casement-enroll/testdata/fuzz-regressions/enroll_soap"

# sts_form: STS queries, form posts and tokens, and the MS-MDE auto-post form.
seed sts_form "" "" "$crates/casement-enroll/testdata/sts"
seed sts_form "" "" "$crates/casement-enroll/testdata/mde1" -name '*.html'
seed sts_form "" "" "$crates/casement-enroll/testdata/fuzz-regressions/sts_form"

# ca_csr: mode 0 the real Windows 10 request (DER and base64), mode 1 PKCS#7 renewal requests,
# mode 2 the real request to re-sign, mode 3 the real request's CN (PrintableString, tag index 1,
# 64 bytes with '!' and a trailing NUL) and DeviceID value (ASCII + NUL).
seed ca_csr m0- '\000' "$crates/casement-ca/testdata" \( -name '*.der' -o -name '*.b64' \)
seed ca_csr m1- '\001' "$crates/casement-ca/testdata/pkcs7" -name '*.p7'
seed ca_csr m2- '\002' "$crates/casement-ca/testdata" -name '*.der'
printf '\003\001\100562A7F9A-6CD8-40B0-9E7E-0DBDD8!B5B954E81FBCB94EB79BD08BE625F4EE\000B5B954E81FBCB94EB79BD08BE625F4EE\000' \
    >"$here/corpus/ca_csr/m3-win10-cn-and-device-id"
seed ca_csr "" "" "$crates/casement-ca/testdata/fuzz-regressions/ca_csr"

# dm_raw_command: SyncML commands, bodies and messages as raw text declared Inventory (\000) and
# Settings (\012); API requests as JSON for Windows 8.1 (\001) and Windows 10/11 (\003).
for dir in "$crates/casement-syncml/testdata" "$crates/casement-dm/testdata"; do
    seed dm_raw_command "inventory-$(basename "$(dirname "$dir")")-" '\000' "$dir" -name '*.xml' ! -path '*/fuzz-regressions/*'
    seed dm_raw_command "settings-$(basename "$(dirname "$dir")")-" '\012' "$dir" -name '*.xml' ! -path '*/fuzz-regressions/*'
done
seed dm_raw_command win81- '\001' "$crates/casement-dm/testdata/requests" -name '*.json'
seed dm_raw_command win10- '\003' "$crates/casement-dm/testdata/requests" -name '*.json'
seed dm_raw_command "" "" "$crates/casement-dm/testdata/fuzz-regressions/dm_raw_command"

# push_wns: the documented WNS token and push answers (and requests, as odd answers).
seed push_wns "" "" "$crates/casement-push/testdata" -name '*.http'
seed push_wns "" "" "$crates/casement-push/testdata/fuzz-regressions/push_wns"

for target in syncml_parse enroll_soap sts_form ca_csr dm_raw_command push_wns; do
    echo "corpus $target: $(ls "$here/corpus/$target" | wc -l) files"
done

# The minimized corpora of the long runs (cargo fuzz cmin, one tarball per target): what the
# smoke in .ci/run replays besides the seeds above. Refresh them after a long run as
# fuzz/README.md says.
for archive in "$here"/corpus-min/*.tar.gz; do
    [ -f "$archive" ] || continue
    target=$(basename "$archive" .tar.gz)
    mkdir -p "$here/corpus/$target"
    tar -xzf "$archive" -C "$here/corpus/$target"
done
