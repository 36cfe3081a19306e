#!/usr/bin/env bash
# testbed.sh - a real two-node Antrea-shaped cluster on this machine, and the samples it records.
#
# Each Node is a network namespace running its own ovsdb-server and ovs-vswitchd (userspace
# "netdev" datapath, private run/db/log directories), with br-int (antrea-gw0, a flow-based Geneve
# port antrea-tun0, one veth per Pod) and br-phy (the uplink eth0 and the Node's transport IP).
# Pods are network namespaces. The pipeline comes from gen_pipeline.py (Antrea's table names,
# registers, conjunctions, select groups, cookies). See docs/testbed.md.
#
# Usage (as root):
#   testbed.sh run [-o OUTDIR] SCENARIO...   fresh cluster per scenario: craft, capture, inject,
#                                            dump, trace, check the captures; writes OUTDIR/SCENARIO/
#                                            (default: the checkout's samples/)
#                                            live-* scenarios (live-scenarios.json, live.py): real
#                                            connections from the Pods' kernels instead of a probe
#   testbed.sh all [-o OUTDIR]               every scenario of scenarios.json and live-scenarios.json
#   testbed.sh up                            build a cluster and leave it running; prints its dir
#   testbed.sh down RUN_DIR                  tear down a cluster made by `up`
#   testbed.sh list                          scenario names
#   testbed.sh check SAMPLE_DIR...           re-evaluate the capture assertions of recorded samples
#                                            (live ones: exact counts, packet counts, flow deltas)
#   testbed.sh flows NODE | groups NODE | tables   print the generated pipeline (no root needed)
#
# Environment: HOPTRACE (the hoptrace binary; default target/release/hoptrace of this checkout),
# TB_KEEP_RUN_DIR=1 keeps the private run directory (logs) after `run`.
#
# Names: every namespace and process carries a per-run prefix (htbXXXXXX-), so parallel runs and
# other OVS users on the machine do not collide; daemons only ever run inside our namespaces.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TOPO=${TB_TOPOLOGY:-$HERE/topology.json}
SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
HOPTRACE=${HOPTRACE:-$REPO/target/release/hoptrace}

tb()  { python3 "$HERE/tb.py" "$@"; }
gen() { python3 "$HERE/gen_pipeline.py" "$TOPO" "$@"; }
log() { printf 'testbed: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

RUN_DIR= PFX= SC_NAME= SC_OUT=
FAILED=()
declare -a NODES=() PODS=()
declare -A NODE_TUNPORT=() NODE_GWPORT=() NODE_IDX=() NODE_TIP=() NODE_CIDR=() NODE_GW=() NODE_GWMAC=() NODE_UPMAC=() NODE_EXT=()

load_plan() {
  local kind a b c d e f g h i j k l m
  while IFS=$'\t' read -r kind a b c d e f g h i j k l m; do
    case $kind in
      node)
        NODES+=("$a"); NODE_IDX[$a]=$b; NODE_TIP[$a]=$c; NODE_CIDR[$a]=$d; NODE_GW[$a]=$e
        NODE_GWMAC[$a]=$f; NODE_UPMAC[$a]=$g; NODE_TUNPORT[$a]=$l; NODE_GWPORT[$a]=$m
        [ "$h" = - ] || NODE_EXT[$a]="$h $i $j $k" ;;
      pod) PODS+=("$a|$b|$c|$d|$e|$f|$g|$h|$i") ;;   # node|ns|name|ip|mac|iface|ofport|plen|gw
    esac
  done < "$RUN_DIR/plan.tsv"
  [ ${#NODES[@]} = 2 ] || die "the testbed wires exactly two Nodes (one veth underlay); topology has ${#NODES[@]}"
}

node_ns() { echo "$PFX-${NODE_IDX[$1]}-$1"; }
pod_ns()  { echo "$PFX-$1-$2"; }          # NS NAME
ext_ns()  { echo "$PFX-ext"; }
ndir()    { echo "$RUN_DIR/$1"; }
vs()  { local n=$1; shift; ovs-vsctl --timeout=30 --db="unix:$(ndir "$n")/db.sock" "$@"; }
of()  { local n=$1 cmd=$2; shift 2; ovs-ofctl -O OpenFlow15 "$cmd" "unix:$(ndir "$n")/br-int.mgmt" "$@"; }
app() { local n=$1; shift; ovs-appctl --timeout=30 -t "$(ndir "$n")/ovs-vswitchd.ctl" "$@"; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

new_run() {
  RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-testbed.XXXXXX")
  # Three random bytes, and never a prefix a namespace already carries (a run killed before its
  # clean-up leaves its namespaces behind).
  while :; do
    PFX=htb$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    compgen -G "/run/netns/$PFX-*" > /dev/null || break
  done
  echo "$PFX" > "$RUN_DIR/prefix"
  : > "$RUN_DIR/netns"; : > "$RUN_DIR/pids"
  mkdir -p "$RUN_DIR/bin"
  # Our daemons are exec'd through links named after the prefix, so `down` can check /proc/PID/comm.
  ln -s "$(readlink -f "$(command -v ovsdb-server)")" "$RUN_DIR/bin/$PFX-ovsdb"
  ln -s "$(readlink -f "$(command -v ovs-vswitchd)")" "$RUN_DIR/bin/$PFX-vswitchd"
  ln -s "$(readlink -f "$(command -v tcpdump)")" "$RUN_DIR/bin/$PFX-tcpdump"
  ln -s "$(readlink -f "$(command -v dumpcap)")" "$RUN_DIR/bin/$PFX-dumpcap"
}

new_ns() {  # NAME: a namespace with lo up and IPv6 off (no RS/ND noise in the captures)
  ip netns add "$1"
  echo "$1" >> "$RUN_DIR/netns"
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$1" link set lo up
}

start_ovs() {  # NODE
  local n=$1 d ns; d=$(ndir "$1"); ns=$(node_ns "$1")
  mkdir -p "$d"
  ovsdb-tool create "$d/conf.db" "$SCHEMA"
  nsx "$ns" env OVS_RUNDIR="$d" OVS_LOGDIR="$d" OVS_DBDIR="$d" "$RUN_DIR/bin/$PFX-ovsdb" "$d/conf.db" \
    --remote="punix:$d/db.sock" --pidfile="$d/ovsdb-server.pid" --unixctl="$d/ovsdb-server.ctl" \
    --log-file="$d/ovsdb-server.log" -vconsole:off --detach --no-chdir 2> "$d/ovsdb-server.stderr"
  vs "$n" --no-wait init
  nsx "$ns" env OVS_RUNDIR="$d" OVS_LOGDIR="$d" OVS_DBDIR="$d" "$RUN_DIR/bin/$PFX-vswitchd" "unix:$d/db.sock" \
    --pidfile="$d/ovs-vswitchd.pid" --unixctl="$d/ovs-vswitchd.ctl" --log-file="$d/ovs-vswitchd.log" \
    -vconsole:off --detach --no-chdir 2> "$d/ovs-vswitchd.stderr"
}

setup_node() {  # NODE
  local n=$1 ns d other i args=() t p csum_args=()
  ns=$(node_ns "$n"); d=$(ndir "$n")
  for other in "${NODES[@]}"; do [ "$other" = "$n" ] || break; done
  # br-phy: the uplink and the transport IP (the VTEP address must sit on a netdev bridge)
  ip -n "$ns" link set eth0 arp off up
  vs "$n" -- add-br br-phy -- set Bridge br-phy datapath_type=netdev other_config:hwaddr="${NODE_UPMAC[$n]}" \
     -- add-port br-phy eth0 > /dev/null
  ip -n "$ns" addr add "${NODE_TIP[$n]}/24" dev br-phy
  ip -n "$ns" link set br-phy up
  app "$n" tnl/neigh/aging 3600 > /dev/null
  app "$n" tnl/neigh/set br-phy "${NODE_TIP[$other]}" "${NODE_UPMAC[$other]}" > /dev/null
  # br-int with Antrea's table names (Flow_Table rows)
  i=0
  while read -r t; do
    args+=(-- --id=@t$i create Flow_Table name="$t" -- set Bridge br-int flow_tables:$i=@t$i)
    i=$((i + 1))
  done < "$RUN_DIR/tables"
  vs "$n" -- add-br br-int -- set Bridge br-int datapath_type=netdev fail_mode=secure \
       protocols=OpenFlow10,OpenFlow13,OpenFlow15 \
     -- add-port br-int antrea-tun0 -- set Interface antrea-tun0 type="$(cat "$RUN_DIR/tunnel")" \
        options:remote_ip=flow options:key=flow ofport_request="${NODE_TUNPORT[$n]}" \
     -- add-port br-int antrea-gw0 -- set Interface antrea-gw0 type=internal ofport_request="${NODE_GWPORT[$n]}" \
        mac="\"${NODE_GWMAC[$n]}\"" \
     "${args[@]}" > /dev/null
  ip -n "$ns" addr add "${NODE_GW[$n]}/${NODE_CIDR[$n]#*/}" dev antrea-gw0
  ip -n "$ns" link set antrea-gw0 up
  # As Antrea's agent: the Node routes (forwards) Pod traffic, and reaches the other Node's Pod CIDR
  # through antrea-gw0 with the peer gateway as an on-link next hop (ARPResponder answers for it).
  nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0
  ip -n "$ns" route add "${NODE_CIDR[$other]}" via "${NODE_GW[$other]}" dev antrea-gw0 onlink
  # Pods: a namespace each, eth0 inside, the host end named like Antrea's in the Node
  for p in "${PODS[@]}"; do
    IFS='|' read -r pn pns pname pip pmac pif pport plen pgw <<< "$p"
    [ "$pn" = "$n" ] || continue
    local podns; podns=$(pod_ns "$pns" "$pname")
    new_ns "$podns"
    ip link add eth0 netns "$podns" address "$pmac" mtu 1450 type veth peer name "$pif" netns "$ns"
    ip -n "$podns" addr add "$pip/$plen" dev eth0
    ip -n "$podns" link set eth0 up
    ip -n "$podns" route add default via "$pgw"
    csum_args+=("$podns" eth0)
    ip -n "$ns" link set "$pif" arp off up
    vs "$n" -- add-port br-int "$pif" -- set Interface "$pif" ofport_request="$pport" \
       external_ids:ip_address="$pip" external_ids:k8s_pod_namespace="$pns" external_ids:k8s_pod_name="$pname" > /dev/null
  done
  # Userspace conntrack marks CHECKSUM_PARTIAL packets +inv (testbed-notes 2-C): TX offload off
  tb txcsum "${csum_args[@]}"
  # An address outside the cluster, reachable through this Node's kernel (Pod -> external IP)
  if [ -n "${NODE_EXT[$n]:-}" ]; then
    local eif eip hip plen2 ens; read -r eif eip hip plen2 <<< "${NODE_EXT[$n]}"
    ens=$(ext_ns)
    new_ns "$ens"
    ip link add "$eif" netns "$ns" type veth peer name eth0 netns "$ens"
    ip -n "$ns" addr add "$eip/$plen2" dev "$eif"; ip -n "$ns" link set "$eif" up
    ip -n "$ens" addr add "$hip/$plen2" dev eth0; ip -n "$ens" link set eth0 up
    ip -n "$ens" route add default via "$eip"
  fi
}

load_pipeline() {  # NODE
  local n=$1 d; d=$(ndir "$n")
  of "$n" add-groups "$d/pipeline.groups"
  ovs-ofctl -O OpenFlow15 --bundle replace-flows "unix:$d/br-int.mgmt" "$d/pipeline.flows"
}

up() {
  local t0 n; t0=$(date +%s%N)
  new_run
  tb prepare "$RUN_DIR" ${SC_NAME:+"$SC_NAME" "$SC_OUT"}
  NODES=(); PODS=(); load_plan
  trap 'log "setup failed; tearing down"; down' ERR
  for n in "${NODES[@]}"; do new_ns "$(node_ns "$n")"; done
  ip link add eth0 netns "$(node_ns "${NODES[0]}")" type veth peer name eth0 netns "$(node_ns "${NODES[1]}")"
  for n in "${NODES[@]}"; do start_ovs "$n"; done
  for n in "${NODES[@]}"; do setup_node "$n"; done
  for n in "${NODES[@]}"; do load_pipeline "$n"; done
  trap - ERR
  log "cluster up in $(( ($(date +%s%N) - t0) / 1000000 )) ms (run dir $RUN_DIR, prefix $PFX)"
}

alive_ours() {  # PID: running (not a zombie) and named with our prefix
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  local st; st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  case "$st" in *") Z "*) return 1 ;; esac
  case "$(cat "/proc/$1/comm" 2>/dev/null)" in "$PFX"-*) return 0 ;; *) return 1 ;; esac
}

stop_pid() {  # PID
  local i
  alive_ours "$1" || return 0
  kill -TERM "$1" 2>/dev/null || true
  for i in $(seq 50); do alive_ours "$1" || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

down() {  # tears down what RUN_DIR records; safe to call twice
  [ -n "$RUN_DIR" ] && [ -d "$RUN_DIR" ] || return 0
  [ -n "$PFX" ] || PFX=$(cat "$RUN_DIR/prefix")
  local p f d
  if [ -s "$RUN_DIR/pids" ]; then
    for p in $(cat "$RUN_DIR/pids"); do stop_pid "$p"; done
    : > "$RUN_DIR/pids"
  fi
  for d in "$RUN_DIR"/*/; do
    [ -f "$d/ovs-vswitchd.pid" ] || continue
    for f in ovs-vswitchd ovsdb-server; do
      p=$(cat "$d/$f.pid" 2>/dev/null || true)
      alive_ours "$p" || continue
      # exit --cleanup also removes the datapath's tap devices
      ovs-appctl --timeout=10 -t "$d/$f.ctl" exit $([ $f = ovs-vswitchd ] && echo --cleanup) >/dev/null 2>&1 || true
      stop_pid "$p"
    done
  done
  if [ -s "$RUN_DIR/netns" ]; then
    tac "$RUN_DIR/netns" | while read -r f; do ip netns del "$f" 2>/dev/null || true; done
    : > "$RUN_DIR/netns"
  fi
  if [ "${TB_KEEP_RUN_DIR:-0}" != 1 ] && [ "${TB_UP_MODE:-0}" != 1 ]; then rm -rf "$RUN_DIR"; fi
}

# --- one scenario --------------------------------------------------------------------------------

capture() {  # NODE IFACE FILE: tcpdump on one interface; dumpcap (native pcapng, SLL2) on `any`
  local ns; ns=$(node_ns "$1")
  if [ "$2" = any ]; then
    # editcap would turn an empty pcap into a pcapng without an interface block, which tcpdump
    # refuses to read; dumpcap writes the IDB (if_name "any", ns resolution) up front.
    ip netns exec "$ns" "$RUN_DIR/bin/$PFX-dumpcap" -i any -y LINUX_SLL2 -q -w "$3" 2> "$3.err" &
  else
    ip netns exec "$ns" "$RUN_DIR/bin/$PFX-tcpdump" -i "$2" -nn -U --immediate-mode -s 0 -Z root \
       -w "$3" 2> "$3.err" &
  fi
  echo $! >> "$RUN_DIR/pids"
  echo $! >> "$RUN_DIR/capture-pids"
  CAPTURES+=("$3")
}

dump_node() {  # NODE DIR: the support-bundle files (header lines dropped, lines trimmed)
  local n=$1 out=$2
  mkdir -p "$out"
  of "$n" dump-flows --names | grep -v -E 'NXST_FLOW reply|OFPST_FLOW reply' | sed 's/^ *//' > "$out/flows"
  of "$n" dump-groups | grep -v -E 'OFPST_GROUP_DESC reply|NXST_GROUP_DESC reply' | sed 's/^ *//' > "$out/groups"
  of "$n" dump-ports-desc | grep -v 'OFPST_PORT_DESC reply' > "$out/ovsports"
}

run_scenario() {  # SCENARIO OUTDIR
  local sc=$1 out=$2 n p srcnode srcns srcpod srcif podns i kind rest
  out="$out/$sc"
  rm -rf "$out"; mkdir -p "$out"
  SC_NAME=$sc SC_OUT=$out
  up
  if [ "$(cat "$RUN_DIR/kind")" = live ]; then run_live "$sc" "$out"; return; fi
  read -r srcnode srcns srcpod srcif < "$RUN_DIR/source"
  mapfile -t cargs < "$RUN_DIR/craft-args"
  "$HOPTRACE" -q craft "${cargs[@]}" -o "$out/probe.json" --pcap "$out/probe.pcap"
  for n in "${NODES[@]}"; do dump_node "$n" "$out/$n/before"; done

  CAPTURES=()
  for n in "${NODES[@]}"; do
    mkdir -p "$out/$n"
    capture "$n" any "$out/$n/${n}_any.pcapng"
    capture "$n" eth0 "$out/$n/${n}_eth0.pcap"
    capture "$n" antrea-gw0 "$out/$n/${n}_antrea-gw0.pcap"
    for p in "${PODS[@]}"; do
      IFS='|' read -r pn _ _ _ _ pif _ _ _ <<< "$p"
      [ "$pn" = "$n" ] && capture "$n" "$pif" "$out/$n/${n}_${pif}.pcap"
    done
    if [ -n "${NODE_EXT[$n]:-}" ]; then capture "$n" "${NODE_EXT[$n]%% *}" "$out/$n/${n}_${NODE_EXT[$n]%% *}.pcap"; fi
  done
  for i in $(seq 100); do
    [ "$(cat "${CAPTURES[@]/%/.err}" 2>/dev/null | grep -c -E 'listening on|Capturing on')" = ${#CAPTURES[@]} ] && break
    sleep 0.05
  done
  [ "$i" -lt 100 ] || die "captures did not start: $(cat "${CAPTURES[@]/%/.err}")"

  podns=$(pod_ns "$srcns" "$srcpod")
  if "$HOPTRACE" inject --help > /dev/null 2>&1; then
    "$HOPTRACE" -q inject "$out/probe.json" --iface eth0 --netns "$podns"
  else
    nsx "$podns" python3 "$HERE/tb.py" inject "$out/probe.json" eth0
  fi
  settle      # the probe, the answers and both pipelines; datapath flows live ~10 s idle
  for n in "${NODES[@]}"; do
    dump_node "$n" "$out/$n"
    app "$n" dpctl/dump-conntrack -m netdev@ovs-netdev > "$out/$n/conntrack"
    app "$n" dpctl/dump-flows -m netdev@ovs-netdev > "$out/$n/dpctl-flows" || true
    ip -n "$(node_ns "$n")" link > "$out/$n/link"
    ip -n "$(node_ns "$n")" address > "$out/$n/address"
    ip -n "$(node_ns "$n")" route > "$out/$n/route"
  done
  for p in $(cat "$RUN_DIR/pids"); do alive_ours "$p" && kill -TERM "$p" 2>/dev/null || true; done
  wait || true
  : > "$RUN_DIR/pids"
  for n in "${NODES[@]}"; do
    rm -f "$out/$n/"*.err
  done
  tb finish "$out" "$srcnode" "${NODES[@]}" > "$RUN_DIR/finish"
  traces "$out" "$srcnode" "$srcif"
  down
  tb check "$out" || FAILED+=("$sc")
  log "$sc: done ($(du -sh "$out" | cut -f1))"
}

all_captures() {  # OUT: every capture point of a scenario, one `NODE IFACE FILE` line each
  local out=$1 n p
  for n in "${NODES[@]}"; do
    mkdir -p "$out/$n"
    echo "$n any $out/$n/${n}_any.pcapng"
    echo "$n eth0 $out/$n/${n}_eth0.pcap"
    echo "$n antrea-gw0 $out/$n/${n}_antrea-gw0.pcap"
    for p in "${PODS[@]}"; do
      IFS='|' read -r pn _ _ _ _ pif _ _ _ <<< "$p"
      [ "$pn" = "$n" ] && echo "$n $pif $out/$n/${n}_${pif}.pcap"
    done
    if [ -n "${NODE_EXT[$n]:-}" ]; then echo "$n ${NODE_EXT[$n]%% *} $out/$n/${n}_${NODE_EXT[$n]%% *}.pcap"; fi
  done
}

wait_captures() {
  local i
  for i in $(seq 100); do
    [ "$(cat "${CAPTURES[@]/%/.err}" 2>/dev/null | grep -c -E 'listening on|Capturing on')" = ${#CAPTURES[@]} ] && break
    sleep 0.05
  done
  [ "$i" -lt 100 ] || die "captures did not start: $(cat "${CAPTURES[@]/%/.err}")"
}

# A live scenario (scenarios.json "kind": "live"; see live.py and docs/testbed.md): servers in the
# destination Pods, captures on every point (or, with "captureStart": "mid", started by a step of
# the traffic), dumps before, the clients' real connections, dumps after, the servers' logs.
run_live() {  # SCENARIO OUT
  local sc=$1 out=$2 n node iface file
  python3 "$HERE/live.py" servers "$RUN_DIR" "$out" "$sc"
  all_captures "$out" > "$RUN_DIR/capture-list"
  CAPTURES=()
  if [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("captureStart", "before"))' "$out/scenario.json")" = before ]; then
    while read -r node iface file; do capture "$node" "$iface" "$file"; done < "$RUN_DIR/capture-list"
    wait_captures
  fi
  for n in "${NODES[@]}"; do dump_node "$n" "$out/$n/before"; done
  python3 "$HERE/live.py" traffic "$RUN_DIR" "$out" "$sc"
  settle
  for n in "${NODES[@]}"; do
    dump_node "$n" "$out/$n"
    app "$n" dpctl/dump-conntrack -m netdev@ovs-netdev > "$out/$n/conntrack"
    app "$n" dpctl/dump-flows -m netdev@ovs-netdev > "$out/$n/dpctl-flows" || true
    ip -n "$(node_ns "$n")" link > "$out/$n/link"
    ip -n "$(node_ns "$n")" address > "$out/$n/address"
    ip -n "$(node_ns "$n")" route > "$out/$n/route"
  done
  # Captures first: whatever the servers' and clients' ends send is after the dumps, and no capture
  # may hold it.
  for p in $(cat "$RUN_DIR/capture-pids" 2>/dev/null); do stop_pid "$p"; done
  for p in $(cat "$RUN_DIR/pids"); do alive_ours "$p" && kill -TERM "$p" 2>/dev/null || true; done
  for p in $(cat "$RUN_DIR/pids"); do stop_pid "$p"; done
  wait || true
  : > "$RUN_DIR/pids"
  # What each capture said when it stopped (captured / received by filter / dropped by kernel):
  # the evidence that a capture point really covered its packets.
  for n in "${NODES[@]}"; do
    for file in "$out/$n/"*.err; do
      [ -e "$file" ] || continue
      printf '%s: %s\n' "$(basename "${file%.err}")" \
        "$(grep -v -E 'listening on|^Capturing on|^File:' "$file" | tr '\n' ' ' | sed 's/ *$//')"
    done > "$out/$n/capture-stats"
    rm -f "$out/$n/"*.err
  done
  tb finish-live "$out" "${NODES[@]}"
  python3 "$HERE/live.py" collect "$RUN_DIR" "$out" "$sc" || FAILED+=("$sc")
  down
  tb check "$out" || FAILED+=("$sc")
  log "$sc: done ($(du -sh "$out" | cut -f1))"
}

settle() {  # wait until no flow counter moves for 0.3 s (at least 0.3 s, at most ~5 s)
  local i prev= cur n
  for i in $(seq 16); do
    sleep 0.3
    cur=$(for n in "${NODES[@]}"; do of "$n" dump-flows | grep -o 'n_packets=[0-9]*'; done | md5sum)
    [ "$cur" = "$prev" ] && return 0
    prev=$cur
  done
  log "warning: flow counters still moving after 5 s"
}

traces() {  # OUT SRCNODE SRCIFACE: ofproto/trace reference traces, per node and bridge
  local out=$1 srcnode=$2 piface=$3 kind n hex tsrc tdst outer inner extra=()
  # A select group stops the trace unless dp_hash is given (testbed-notes 2-E2); one bucket here.
  grep -q 'group:' "$out/$srcnode/flows" && extra=(dp_hash=1)
  while read -r kind n tsrc tdst outer inner; do
    if [ "$kind" = hex ]; then
      hex=$n
      {
        echo "# ovs-appctl ofproto/trace --names br-int 'in_port=$piface${extra:+,${extra[*]}}' <probe frame>"
        app "$srcnode" ofproto/trace --names br-int "in_port=$piface${extra:+,${extra[*]}}" "$hex"
      } > "$out/$srcnode/ofproto-trace-br-int.txt" 2>&1 || true
      continue
    fi
    {
      echo "# ovs-appctl ofproto/trace --names br-phy in_port=eth0 <outer tunnel frame captured on eth0>"
      app "$n" ofproto/trace --names br-phy "in_port=eth0" "$outer"
    } > "$out/$n/ofproto-trace-br-phy.txt" 2>&1 || true
    {
      echo "# ovs-appctl ofproto/trace --names br-int 'in_port=antrea-tun0,tun_id=0,tun_src=$tsrc,tun_dst=$tdst' <inner frame>"
      app "$n" ofproto/trace --names br-int "in_port=antrea-tun0,tun_id=0,tun_src=$tsrc,tun_dst=$tdst" "$inner"
    } > "$out/$n/ofproto-trace-br-int.txt" 2>&1 || true
  done < "$RUN_DIR/finish"
}

need_root() {
  [ "$(id -u)" = 0 ] || die "run as root (network namespaces, veths, raw sockets)"
  local c
  for c in ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-ofctl ovs-appctl ip tcpdump dumpcap python3; do
    command -v "$c" > /dev/null || die "$c not found (apt-get install openvswitch-switch iproute2 tcpdump tshark python3)"
  done
  [ -x "$HOPTRACE" ] || die "$HOPTRACE not found: build it with 'cargo build --release' or set HOPTRACE"
}

cmd_run() {  # [-o OUTDIR] SCENARIO...
  local outdir=$REPO/samples sc
  if [ "${1:-}" = -o ]; then outdir=$2; shift 2; fi
  [ $# -gt 0 ] || die "run: name at least one scenario (testbed.sh list)"
  need_root
  mkdir -p "$outdir"
  trap 'down' EXIT
  trap 'exit 130' INT TERM
  for sc in "$@"; do
    tb scenarios | grep -x -- "$sc" > /dev/null || die "unknown scenario $sc (testbed.sh list)"
    run_scenario "$sc" "$outdir"
  done
  [ ${#FAILED[@]} = 0 ] || die "the traffic was not where scenarios.json says in: ${FAILED[*]}"
}

case "${1:-}" in
  run) shift; cmd_run "$@" ;;
  all) shift; if [ "${1:-}" = -o ]; then cmd_run -o "$2" $(tb scenarios); else cmd_run $(tb scenarios); fi ;;
  up) need_root; TB_UP_MODE=1; up; echo "$RUN_DIR" ;;
  down) [ -n "${2:-}" ] || die "down RUN_DIR"; RUN_DIR=$2; TB_UP_MODE=0; down ;;
  list) tb scenarios ;;
  check) shift; tb check "$@" ;;
  flows) gen flows "${2:?NODE}" ;;
  groups) gen groups "${2:?NODE}" ;;
  tables) gen tables ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
