#!/bin/sh
# Builds the fuzz seed corpora from tests/data/corpus (not committed: they are copies).
#   fuzz/corpus/read_capture:  every capture file of the test corpus
#   fuzz/corpus/decode_packet: every packet of those files, prefixed by its link-type selector
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=${1:-$here/../tests/data/corpus}
mkdir -p "$here/corpus/read_capture" "$here/corpus/decode_packet"
find "$corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.ntar' -o -name '*.cap' \) | while read -r f; do
    cp "$f" "$here/corpus/read_capture/$(echo "$f" | sed "s|$corpus/||; s|/|__|g")"
done
cd "$here/.." && cargo run -q --example fuzz_seeds -- "$corpus" "$here/corpus/decode_packet"
