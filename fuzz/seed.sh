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
(cd "$here/.." && cargo run -q --example fuzz_seeds -- "$corpus" "$here/corpus/decode_packet")

# fuzz/corpus/bundle_files: the samples' YAML and JSON files and one agent tarball, each prefixed
# by the byte that selects its reader (0 agent YAML, 1 cluster inventory, 2 probe.json, 3 tarball).
seeds="$here/corpus/bundle_files"
mkdir -p "$seeds"
n=0
for d in "$here"/../samples/*/; do
    for f in "$d"*/agentinfo "$d"*/networkpolicies "$d"*/addressgroups "$d"*/appliedtogroups; do
        [ -f "$f" ] && { printf '\000' | cat - "$f" > "$seeds/yaml-$n"; n=$((n + 1)); }
    done
    for f in "$d"clusterinfo "$d"cluster.json; do
        [ -f "$f" ] && { printf '\001' | cat - "$f" > "$seeds/cluster-$n"; n=$((n + 1)); }
    done
    [ -f "$d"probe.json ] && { printf '\002' | cat - "$d"probe.json > "$seeds/probe-$n"; n=$((n + 1)); }
done
node=$(ls -d "$here"/../samples/*/k8s-node1 | head -1)
printf '\003' > "$seeds/tar-0"
tar -C "$node" -cz agentinfo flows networkpolicies route >> "$seeds/tar-0"
printf '\003' > "$seeds/tar-1"
tar -C "$node" -c agentinfo addressgroups >> "$seeds/tar-1"
