#!/bin/sh
# Seeds the fuzz corpus with every SyncML sample of the codec's test data (*.xml, subdirectories
# included) and every saved fuzz regression. Run from anywhere: fuzz/seed.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
testdata="$here/../crates/casement-syncml/testdata"
corpus="$here/corpus/syncml_parse"
mkdir -p "$corpus"
find "$testdata" -type f \( -name '*.xml' -o -path '*/fuzz-regressions/*' \) ! -name README.md |
while read -r f; do
    # Flatten the relative path into one file name: fuzz-regressions/x.xml -> fuzz-regressions__x.xml
    rel=${f#"$testdata"/}
    cp "$f" "$corpus/$(printf '%s' "$rel" | sed 's|/|__|g')"
done
echo "corpus: $(ls "$corpus" | wc -l) files in $corpus"
