#!/usr/bin/env python3
"""Helpers of testbed.sh: everything that reads the topology or the scenarios, or writes a file
that a user would gather from a cluster (clusterinfo, kubectl JSON, agentinfo).

Usage (TOPOLOGY and SCENARIOS are the JSON files next to this script; one process does a
whole step, because Python's start-up dominates on a loaded machine):
  tb.py scenarios                    # scenario names
  tb.py prepare RUN_DIR              # RUN_DIR/plan.tsv (Nodes and Pods), RUN_DIR/tables,
                                     # RUN_DIR/NODE/pipeline.{flows,groups}
  tb.py prepare RUN_DIR SCENARIO OUT # the same, plus OUT/{clusterinfo,cluster.json,expected.json,
                                     # scenario.json}, RUN_DIR/craft-args, RUN_DIR/source
  tb.py txcsum NETNS IFACE...        # TX checksum offload off on IFACE in each NETNS (pairs)
  tb.py inject PROBE_JSON IFACE      # send the probe frame on IFACE (AF_PACKET)
  tb.py check DIR...                 # evaluate each sample's capture assertions with tcpdump
                                     # (live samples: exact counts, packet counts, flow deltas)
  tb.py kind SCENARIO                # probe or live
  tb.py finish-live OUT NODE...      # OUT/NODE/{agentinfo,networkpolicies,...} (no probe)
  tb.py txcsum-on NETNS IFACE        # TX checksum offload back on (live scenario: +inv)
  tb.py finish OUT SRCNODE NODE...   # OUT/NODE/{agentinfo,networkpolicies,addressgroups,
                                     # appliedtogroups}; prints `hex <probe frame>` and, per
                                     # receiving Node, `tunnel NODE TUN_SRC TUN_DST OUTER INNER`
                                     # (the first Geneve packet on its eth0 carrying the probe)
"""

import ipaddress
import json
import os
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_pipeline  # noqa: E402

TOPOLOGY = os.environ.get("TB_TOPOLOGY", os.path.join(HERE, "topology.json"))
SCENARIOS = os.environ.get("TB_SCENARIOS", os.path.join(HERE, "scenarios.json"))
LIVE_SCENARIOS = os.environ.get("TB_LIVE_SCENARIOS", os.path.join(HERE, "live-scenarios.json"))
CREATED = "2026-11-01T09:00:00Z"


def topo():
    return gen_pipeline.load(TOPOLOGY)


def scenarios():
    """The probe scenarios, then the live ones (live-scenarios.json, "kind": "live")."""
    with open(SCENARIOS) as fh:
        out = json.load(fh)["scenarios"]
    if os.path.exists(LIVE_SCENARIOS):
        with open(LIVE_SCENARIOS) as fh:
            out += json.load(fh)["scenarios"]
    return out


def scenario(name):
    for s in scenarios():
        if s["name"] == name:
            return s
    raise SystemExit("unknown scenario %r (known: %s)" % (name, ", ".join(s["name"] for s in scenarios())))


def pod_named(t, ref):
    ns, name = ref.split("/", 1)
    for p in t.pods:
        if p["namespace"] == ns and p["name"] == name:
            return p
    return None


def plan_lines(t):
    out = []
    for n in t.nodes:
        ext = n.get("external")
        extra = [ext["iface"], ext["nodeIP"], ext["hostIP"], str(ext["prefix"])] if ext else ["-", "-", "-", "-"]
        out.append("\t".join(["node", n["name"], str(n["index"]), n["transportIP"], n["podCIDR"], n["gatewayIP"],
                               n["gatewayMAC"], n["uplinkMAC"]] + extra + [str(n["tunnelOfport"]), str(n["gatewayOfport"])]))
    for p in t.pods:
        plen = ipaddress.ip_network(t.node(p["node"])["podCIDR"]).prefixlen
        out.append("\t".join(["pod", p["node"], p["namespace"], p["name"], p["ip"], p["mac"], p["iface"],
                               str(p["ofport"]), str(plen), t.node(p["node"])["gatewayIP"]]))
    return out


def craft_args(t, s, cluster_json):
    src = pod_named(t, s["source"])
    dst_pod = pod_named(t, s["destination"]) if "/" in s["destination"] else None
    if dst_pod is None and "/" not in s["destination"]:
        dst_pod = t.pod_by_ip(s["destination"])
    # Antrea's rule (antrea-traceflow.md 3.2): the destination Pod's MAC when it runs on the same
    # Node, else the local gateway's MAC.
    if dst_pod is not None and dst_pod["node"] == src["node"]:
        dst_mac = dst_pod["mac"]
    else:
        dst_mac = t.node(src["node"])["gatewayMAC"]
    args = ["-S", s["source"]]
    if "/" in s["destination"]:
        args += ["-D", s["destination"]]
    else:
        args += ["--dst-ip", s["destination"]]
    args += ["--cluster", cluster_json, "--src-mac", src["mac"], "--dst-mac", dst_mac, "-f", s["flow"],
             "--seed", str(s["seed"]), "--node", src["node"]]
    return args


def tunnel_type(t, s):
    """The scenario's tunnel type, else the topology's (Antrea's default is geneve)."""
    return s.get("tunnelType", t.doc.get("tunnelType", "geneve"))


def write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


def cmd_prepare(run_dir, name=None, outdir=None):
    t = topo()
    write(os.path.join(run_dir, "plan.tsv"), "\n".join(plan_lines(t)) + "\n")
    write(os.path.join(run_dir, "tables"), "\n".join(gen_pipeline.TABLES) + "\n")
    for n in t.nodes:
        os.makedirs(os.path.join(run_dir, n["name"]), exist_ok=True)
        write(os.path.join(run_dir, n["name"], "pipeline.flows"), "\n".join(gen_pipeline.pipeline(t, n["name"]).lines()) + "\n")
        write(os.path.join(run_dir, n["name"], "pipeline.groups"), "\n".join(gen_pipeline.groups(t, n["name"])) + "\n")
    if name is None:
        write(os.path.join(run_dir, "tunnel"), tunnel_type(t, {}) + "\n")
        return
    s = scenario(name)
    cluster_files(t, outdir, tunnel_type(t, s))
    write(os.path.join(run_dir, "tunnel"), tunnel_type(t, s) + "\n")
    if is_live(s):
        live_scenario_files(t, s, outdir)
        write(os.path.join(run_dir, "kind"), "live\n")
        return
    scenario_files(t, s, outdir)
    write(os.path.join(run_dir, "kind"), "probe\n")
    write(os.path.join(run_dir, "craft-args"), "\n".join(craft_args(t, s, os.path.join(outdir, "cluster.json"))) + "\n")
    src = pod_named(t, s["source"])
    write(os.path.join(run_dir, "source"), "%s %s %s %s\n" % (src["node"], src["namespace"], src["name"], src["iface"]))


def k8s_pod(t, p):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": p["name"], "namespace": p["namespace"], "uid": p["uid"], "labels": p.get("labels", {}),
                     "creationTimestamp": CREATED},
        "spec": {"nodeName": p["node"], "containers": [{"name": p["name"], "image": "registry.k8s.io/e2e-test-images/agnhost:2.45"}]},
        "status": {
            "phase": "Running",
            "hostIP": t.node(p["node"])["transportIP"],
            "podIP": p["ip"],
            "podIPs": [{"ip": p["ip"]}],
            "containerStatuses": [{"name": p["name"], "ready": True, "containerID": "containerd://" + p["containerID"]}],
        },
    }


def k8s_node(n):
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": n["name"], "uid": gen_pipeline.uuid_of("node/" + n["name"]),
                     "labels": {"kubernetes.io/hostname": n["name"], "kubernetes.io/os": "linux"},
                     "creationTimestamp": CREATED},
        "spec": {"podCIDR": n["podCIDR"], "podCIDRs": [n["podCIDR"]]},
        "status": {"addresses": [{"type": "InternalIP", "address": n["transportIP"]},
                                 {"type": "Hostname", "address": n["name"]}]},
    }


def k8s_service(s):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": s["name"], "namespace": s["namespace"], "uid": gen_pipeline.uuid_of("svc/" + s["name"]),
                     "creationTimestamp": CREATED},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": s["clusterIP"],
            "clusterIPs": [s["clusterIP"]],
            "selector": s["selector"],
            "ports": [{"name": p["name"], "protocol": p["protocol"], "port": p["port"], "targetPort": p["targetPort"]}
                      for p in s["ports"]],
        },
    }


def yaml_dump(value, indent=0):
    """A tiny YAML emitter for plain dicts/lists/scalars (PyYAML is not assumed installed)."""
    pad = "  " * indent
    out = []
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append("%s%s:\n%s" % (pad, k, yaml_dump(v, indent + 1)))
            else:
                out.append("%s%s: %s\n" % (pad, k, yaml_scalar(v)))
        return "".join(out)
    if isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)) and v:
                body = yaml_dump(v, indent + 1)
                out.append("%s- %s" % (pad, body.lstrip(" ")))
            else:
                out.append("%s- %s\n" % (pad, yaml_scalar(v)))
        return "".join(out)
    return pad + yaml_scalar(value) + "\n"


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return json.dumps(str(v))


def antrea_config(t, tunnel):
    """The kube-system/antrea-config ConfigMap (clusterinfo's #configs): says the tunnel type."""
    agent = "\n".join([
        "featureGates:",
        "  AntreaProxy: true",
        "  Traceflow: true",
        "trafficEncapMode: encap",
        "tunnelType: %s" % tunnel,
        "serviceCIDR: %s" % t.doc["serviceCIDR"],
        "",
    ])
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "antrea-config", "namespace": "kube-system", "creationTimestamp": CREATED},
            "data": {"antrea-agent.conf": agent, "antrea-controller.conf": "featureGates:\n  Traceflow: true\n"}}


def cluster_files(t, outdir, tunnel):
    # clusterinfo as `antctl supportbundle` writes it: #section lines, each object followed by ---
    parts = ["#pods\n"]
    for p in t.pods:
        parts.append(yaml_dump(k8s_pod(t, p)) + "---\n")
    parts.append("#nodes\n")
    for n in t.nodes:
        parts.append(yaml_dump(k8s_node(n)) + "---\n")
    parts.append("#configs\n")
    parts.append(yaml_dump(antrea_config(t, tunnel)) + "---\n")
    with open(os.path.join(outdir, "clusterinfo"), "w") as fh:
        fh.write("".join(parts))
    # `kubectl get pods,services,nodes -A -o json`
    items = [k8s_pod(t, p) for p in t.pods] + [k8s_service(s) for s in t.services] + [k8s_node(n) for n in t.nodes]
    with open(os.path.join(outdir, "cluster.json"), "w") as fh:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}, fh, indent=2)
        fh.write("\n")


def agentinfo(t, node_name, flows_path):
    n = t.node(node_name)
    counts = {}
    with open(flows_path) as fh:
        for line in fh:
            for part in line.split(","):
                part = part.strip()
                if part.startswith("table="):
                    name = part[len("table="):]
                    counts[name] = counts.get(name, 0) + 1
                    break
    info = {
        "apiVersion": "crd.antrea.io/v1beta1",
        "kind": "AntreaAgentInfo",
        "metadata": {"name": node_name},
        "version": t.doc["antreaVersion"],
        "podRef": {"kind": "Pod", "namespace": "kube-system", "name": "antrea-agent-" + gen_pipeline.stable_hex(node_name, 5)},
        "nodeRef": {"kind": "Node", "name": node_name},
        "nodeSubnets": [n["podCIDR"]],
        "ovsInfo": {"version": t.doc["ovsVersion"], "bridgeName": "br-int", "flowTable": counts},
        "networkPolicyControllerInfo": {},
        "localPodNum": len(t.pods_on(node_name)),
        "agentConditions": [{"type": "AgentHealthy", "status": "True", "lastHeartbeatTime": CREATED}],
        "apiPort": 10350,
        "networkInfo": {"transportInterface": "eth0", "transportInterfaceMTU": 1500, "podMTU": 1450,
                        "transportInterfaceIPs": [n["transportIP"]]},
    }
    return yaml_dump(info)


def controlplane(t, node_name):
    """The agent's controlplane.antrea.io/v1beta2 view (bundle files `networkpolicies`,
    `addressgroups`, `appliedtogroups`): only policies applied to Pods on this Node. No conj ids,
    as in a real bundle."""
    policies, address_groups, applied_groups = [], {}, {}

    def members(pods):
        return [{"pod": {"name": p["name"], "namespace": p["namespace"]}, "ips": [p["ip"]]} for p in pods]

    def group(kind, store, selector, pods):
        name = gen_pipeline.uuid_of("%s/%s" % (kind, json.dumps(selector, sort_keys=True)))
        store.setdefault(name, {"apiVersion": "controlplane.antrea.io/v1beta2", "kind": kind,
                                "metadata": {"name": name, "uid": name}, "groupMembers": members(pods)})
        return name

    for pol in t.policies:
        applied = t.select(pol["appliedTo"])
        if not any(p["node"] == node_name for p in applied):
            continue
        atg = group("AppliedToGroup", applied_groups, pol["appliedTo"], [p for p in applied if p["node"] == node_name])
        rules = []
        for direction, key in (("egress", "Out"), ("ingress", "In")):
            for i, r in enumerate(pol.get(direction, [])):
                peer = r.get("peer", "any")
                if peer == "any":
                    peers = {"ipBlocks": [{"cidr": "0.0.0.0/0"}]}
                else:
                    peers = {"addressGroups": [group("AddressGroup", address_groups, peer, t.select(peer))]}
                rule = {"direction": key, "from": peers if key == "In" else {}, "to": peers if key == "Out" else {},
                        "priority": i, "action": r.get("action", "Allow")}
                if r.get("ports"):
                    rule["services"] = [{"protocol": pt["protocol"], "port": pt["port"]} for pt in r["ports"]]
                if r.get("name"):
                    rule["name"] = r["name"]
                rules.append(rule)
        uid = gen_pipeline.uuid_of("policy/%s/%s" % (pol.get("namespace", ""), pol["name"]))
        doc = {"apiVersion": "controlplane.antrea.io/v1beta2", "kind": "NetworkPolicy",
               "metadata": {"name": uid, "uid": uid, "generation": 1},
               "rules": rules, "appliedToGroups": [atg],
               "sourceRef": {"type": pol["type"], "namespace": pol.get("namespace", ""), "name": pol["name"], "uid": uid}}
        if pol["type"] == "K8sNetworkPolicy":
            doc["policyTypes"] = pol.get("policyTypes", [])
        else:
            doc["priority"] = pol.get("priority", 1)
            doc["tierPriority"] = {"securityops": 100, "application": 250}.get(pol.get("tier"), 250)
        policies.append(doc)
    return [docs_yaml(policies), docs_yaml(list(address_groups.values())), docs_yaml(list(applied_groups.values()))]


def docs_yaml(docs):
    return "".join(yaml_dump(d) + "---\n" for d in docs)


def scenario_files(t, s, outdir):
    name = s["name"]
    expected = {"name": name, "phase": s["expected"]["phase"], "source": s["source"], "destination": s["destination"],
                "results": s["expected"]["results"]}
    with open(os.path.join(outdir, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=2)
        fh.write("\n")
    resolved = []
    for c in s["captures"]:
        cap = c["capture"]
        if cap.startswith("pod:"):
            pod = pod_named(t, "default/" + cap[4:]) if "/" not in cap[4:] else pod_named(t, cap[4:])
            iface = pod["iface"]
        else:
            iface = cap
        ext = "pcapng" if iface == "any" else "pcap"
        resolved.append(dict(c, file="%s/%s_%s.%s" % (c["node"], c["node"], iface, ext),
                             filter=c["filter"].replace("PROBE", "ip[1] & 0xfc == 0x1c")))
    doc = {k: v for k, v in s.items() if k not in ("expected", "captures")}
    doc["captures"] = resolved
    with open(os.path.join(outdir, "scenario.json"), "w") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")


def probe_frame(path):
    with open(path) as fh:
        probe = json.load(fh)
    return probe, bytes.fromhex(probe["frame"]["hex"])


def cmd_inject(probe_path, iface):
    _, frame = probe_frame(probe_path)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.send(frame)
    s.close()


def pcap_packets(path):
    """(linktype, [frame bytes]) of a classic pcap file."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 24:
        return None, []
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if endian is None:
        return None, []
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return linktype, out


TUNNEL_PORTS = {6081: "geneve", 4789: "vxlan"}


def tunnel_inner(pcap, probe):
    """The first Geneve or VXLAN packet of a capture whose inner IPv4 header carries the probe."""
    want_src, tag = probe["ip"]["src"], probe["dataplaneTag"]
    linktype, frames = pcap_packets(pcap)
    if linktype != 1:
        return
    for f in frames:
        if len(f) < 14 + 20 + 8 + 8 + 14 + 20 or f[12:14] != b"\x08\x00":
            continue
        ihl = (f[14] & 0x0F) * 4
        if f[23] != 17:
            continue
        udp = 14 + ihl
        kind = TUNNEL_PORTS.get(struct.unpack("!H", f[udp + 2:udp + 4])[0])
        if kind is None:
            continue
        hdr = udp + 8
        opt_len = (f[hdr] & 0x3F) * 4 if kind == "geneve" else 0
        inner = f[hdr + 8 + opt_len:]
        if len(inner) < 34 or inner[12:14] != b"\x08\x00":
            continue
        if inner[15] >> 2 != tag or socket.inet_ntoa(inner[26:30]) != want_src:
            continue
        return socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34]), f.hex(), inner.hex()
    return None


def cmd_finish(outdir, src_node, *nodes):
    t = topo()
    probe, frame = probe_frame(os.path.join(outdir, "probe.json"))
    print("hex", frame.hex())
    for n in nodes:
        write(os.path.join(outdir, n, "agentinfo"), agentinfo(t, n, os.path.join(outdir, n, "flows")))
        for name, text in zip(("networkpolicies", "addressgroups", "appliedtogroups"), controlplane(t, n)):
            write(os.path.join(outdir, n, name), text)
        if n == src_node:
            continue
        found = tunnel_inner(os.path.join(outdir, n, "%s_eth0.pcap" % n), probe)
        if found:
            print("tunnel", n, *found)


def is_live(s):
    return s.get("kind") == "live"


def capture_file(t, node, cap):
    """`pod:NAME` (default namespace) or `pod:NS/NAME`, or an interface name -> the sample's file."""
    if cap.startswith("pod:"):
        pod = pod_named(t, cap[4:] if "/" in cap[4:] else "default/" + cap[4:])
        if pod is None:
            raise SystemExit("unknown Pod in capture %r" % cap)
        if pod["node"] != node:
            raise SystemExit("capture %r is on %s, not %s" % (cap, pod["node"], node))
        iface = pod["iface"]
    else:
        iface = cap
    ext = "pcapng" if iface == "any" else "pcap"
    return "%s/%s_%s.%s" % (node, node, iface, ext)


def pod_capture(t, pod):
    return capture_file(t, pod["node"], "pod:%s/%s" % (pod["namespace"], pod["name"]))


def tuple_filter(proto, src, dst):
    """tcpdump filter for one direction of a connection: `ip src A and ip dst B and tcp src port ...`."""
    (sip, sport), (dip, dport) = src.rsplit(":", 1), dst.rsplit(":", 1)
    p = proto.lower()
    return "ip src %s and ip dst %s and %s src port %s and %s dst port %s" % (sip, dip, p, sport, p, dport)


def service_by_ip(t, ip, port):
    for svc in t.services:
        if svc["clusterIP"] == ip:
            for pt in svc["ports"]:
                if pt["port"] == port:
                    return svc, pt
    return None, None


def connection_of(t, c):
    """A client of a live scenario as expected-connections.json states it (hand-written `expect`)."""
    src = pod_named(t, c["pod"])
    want = c["expect"]
    conn = {
        "protocol": c["protocol"],
        "client": "%s:%d" % (src["ip"], c["sport"]),
        "server": c["dst"],
        "fate": want["fate"],
        "endpoint": want.get("endpoint"),
        "drop": want.get("drop"),
        "reply": want.get("reply"),
        "packets": {"client_sent": want["packets"]["client_sent"], "server_received": want["packets"]["server_received"]},
    }
    return conn


def packet_checks(t, i, c, conn):
    """Where each hand-written packet count is measured: client_sent on the client Pod's veth
    (the tuple as the client addressed it), server_received on the endpoint's veth (the tuple after
    DNAT, and after SNAT as the client's `serverSees` states it for a hairpin); for a connection that reached no endpoint, on every Pod the destination could have
    been (the addressed Pod, or every endpoint of the addressed Service)."""
    src = pod_named(t, c["pod"])
    checks = [{"connection": i, "field": "client_sent", "files": [pod_capture(t, src)],
               "filter": tuple_filter(c["protocol"], conn["client"], conn["server"])}]
    if conn["endpoint"]:
        ref, ep = conn["endpoint"].split(" ", 1)
        targets = [(pod_named(t, ref), ep)]
    else:
        ip, port = conn["server"].rsplit(":", 1)
        svc, pt = service_by_ip(t, ip, int(port))
        if svc is not None:
            targets = [(p, "%s:%d" % (p["ip"], pt["targetPort"])) for p in t.endpoints(svc)]
        else:
            targets = [(t.pod_by_ip(ip), conn["server"])]
    for pod, _ in targets:
        if pod is None:
            raise SystemExit("%s: no Pod behind %s" % (c["id"], conn["server"]))
    seen_from = c.get("serverSees") or conn["client"]  # after a source NAT (hairpin), as the server sees it
    filt = " or ".join("(%s)" % tuple_filter(c["protocol"], seen_from, ep) for _, ep in targets)
    checks.append({"connection": i, "field": "server_received", "files": sorted({pod_capture(t, p) for p, _ in targets}),
                   "filter": filt})
    return checks


def live_scenario_files(t, s, outdir):
    conns = [connection_of(t, c) for c in s["clients"]]
    expected = {"match": s["match"], "note": s["note"], "connections": conns}
    with open(os.path.join(outdir, "expected-connections.json"), "w") as fh:
        json.dump(expected, fh, indent=2)
        fh.write("\n")
    checks = []
    for i, (c, conn) in enumerate(zip(s["clients"], conns)):
        checks += packet_checks(t, i, c, conn)
    resolved = [dict(c, file=capture_file(t, c["node"], c["capture"])) for c in s.get("captures", [])]
    doc = {k: v for k, v in s.items() if k not in ("captures", "clients", "note", "match")}
    doc["clients"] = [{k: v for k, v in c.items() if k != "expect"} for c in s["clients"]]
    doc["captures"] = resolved
    doc["packetChecks"] = checks
    with open(os.path.join(outdir, "scenario.json"), "w") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")


def cmd_finish_live(outdir, *nodes):
    t = topo()
    for n in nodes:
        write(os.path.join(outdir, n, "agentinfo"), agentinfo(t, n, os.path.join(outdir, n, "flows")))
        for name, text in zip(("networkpolicies", "addressgroups", "appliedtogroups"), controlplane(t, n)):
            write(os.path.join(outdir, n, name), text)


def tcpdump_count(path, filt):
    import subprocess

    out = subprocess.run(["tcpdump", "-r", path, "-nn", "-q", filt], capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip()
    return len([l for l in out.stdout.splitlines() if l.strip()]), ""


def flow_counters(path):
    """n_packets per flow (the flow text without its statistics)."""
    out = {}
    with open(path) as fh:
        for line in fh:
            parts = [p for p in line.strip().split(", ")]
            n = 0
            key = []
            for p in parts:
                if p.startswith("n_packets="):
                    n = int(p[len("n_packets="):])
                elif not p.startswith(("duration=", "n_bytes=", "idle_age=", "hard_age=")):
                    key.append(p)
            out[", ".join(key)] = n
    return out


def check_live(d, doc):
    """Every capture assertion holds exactly; every hand-written packet count equals what
    tcpdump counts where packet_checks() says; every flow-counter delta is as stated."""
    failed = 0
    with open(os.path.join(d, "expected-connections.json")) as fh:
        conns = json.load(fh)["connections"]
    for c in doc["captures"]:
        path = os.path.join(d, c["file"])
        seen, err = tcpdump_count(path, c["filter"])
        ok = seen is not None and (seen >= c["min"] if "min" in c else seen == c["count"])
        if not ok:
            failed += 1
            print("FAIL %s: %s packet(s) match '%s' (expected %s) %s" % (
                path, seen, c["filter"], (">= %d" % c["min"]) if "min" in c else c["count"], err), file=sys.stderr)
    for pc in doc["packetChecks"]:
        total, errs = 0, []
        for f in pc["files"]:
            n, err = tcpdump_count(os.path.join(d, f), pc["filter"])
            if n is None:
                errs.append(err)
            else:
                total += n
        want = conns[pc["connection"]]["packets"][pc["field"]]
        if errs or total != want:
            failed += 1
            print("FAIL %s: connection %d %s: tcpdump counts %d in %s '%s', expected-connections.json says %d %s" % (
                d, pc["connection"], pc["field"], total, pc["files"], pc["filter"], want, " ".join(errs)), file=sys.stderr)
    for fd in doc.get("flowDeltas", []):
        before = flow_counters(os.path.join(d, fd["node"], "before", "flows"))
        after = flow_counters(os.path.join(d, fd["node"], "flows"))
        delta = sum(n - before.get(k, 0) for k, n in after.items()
                    if ("table=%s," % fd["table"]) in k and fd["match"] in k)
        if not (delta >= fd["min"] if "min" in fd else delta == fd["packets"]):
            failed += 1
            print("FAIL %s: %s table=%s flows with %r counted %d packet(s), expected %s" % (
                d, fd["node"], fd["table"], fd["match"], delta, fd.get("packets", ">= %s" % fd.get("min"))),
                file=sys.stderr)
    for node in sorted({f.split("/")[0] for pc in doc["packetChecks"] for f in pc["files"]}):
        for line in capture_stats(os.path.join(d, node, "capture-stats")):
            if line[1]:
                failed += 1
                print("FAIL %s/%s: %s reports %d packet(s) dropped by the kernel: the capture did not see everything" % (
                    d, node, line[0], line[1]), file=sys.stderr)
    n = len(doc["captures"]) + len(doc["packetChecks"]) + len(doc.get("flowDeltas", []))
    return failed, n


def capture_stats(path):
    """(capture file, packets the kernel dropped) per line of a live sample's capture-stats:
    tcpdump's `N packets dropped by kernel`, dumpcap's `received/dropped on interface 'any': R/D`."""
    import re

    out = []
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        for line in fh:
            name, _, text = line.partition(": ")
            m = re.search(r"(\d+) packets dropped by kernel", text) or re.search(r"received/dropped on interface '[^']*': \d+/(\d+)", text)
            out.append((name, int(m.group(1)) if m else 0))
    return out


def cmd_txcsum_on(ns, iface):
    """TX checksum offload back on (the live scenario whose later packets conntrack marks +inv)."""
    set_txcsum([ns, iface], 1)


def cmd_check(*dirs):
    """Where the probe must (count >= 1) and must not (count 0) be, per scenario.json."""
    import subprocess

    bad = 0
    for d in dirs:
        failed = 0
        if not os.path.exists(os.path.join(d, "scenario.json")):
            print("%s: not a recorded scenario (no scenario.json), skipped" % d, file=sys.stderr)
            continue
        with open(os.path.join(d, "scenario.json")) as fh:
            doc = json.load(fh)
        if is_live(doc):
            failed, n = check_live(d, doc)
            print("%s: %d live check(s) %s" % (doc["name"], n, "FAILED" if failed else "hold"), file=sys.stderr)
            bad += failed
            continue
        for c in doc["captures"]:
            path = os.path.join(d, c["file"])
            out = subprocess.run(["tcpdump", "-r", path, "-nn", "-q", c["filter"]], capture_output=True, text=True)
            seen = len(out.stdout.splitlines())
            ok = out.returncode == 0 and ((seen >= 1) if c["count"] else (seen == 0))
            if not ok:
                failed += 1
                print("FAIL %s: %d packet(s) match '%s' (expected %s) %s" % (
                    path, seen, c["filter"], ">= 1" if c["count"] else "none", out.stderr.strip()), file=sys.stderr)
        print("%s: %d capture assertion(s) %s" % (doc["name"], len(doc["captures"]), "FAILED" if failed else "hold"),
              file=sys.stderr)
        bad += failed
    return 1 if bad else 0


def cmd_txcsum(*pairs):
    """TX checksum offload off (ETHTOOL_STXCSUM) on each IFACE inside its NETNS."""
    set_txcsum(pairs, 0)


def set_txcsum(pairs, on):
    import array
    import ctypes
    import fcntl

    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet = 0x40000000
    for ns, iface in zip(pairs[::2], pairs[1::2]):
        with open("/run/netns/" + ns) as fh:
            if libc.setns(fh.fileno(), clone_newnet) != 0:
                raise OSError(ctypes.get_errno(), "setns " + ns)
        value = array.array("B", struct.pack("II", 0x17, on))  # struct ethtool_value {ETHTOOL_STXCSUM, 0}
        ifreq = struct.pack("16sP", iface.encode(), value.buffer_info()[0])
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fcntl.ioctl(sock.fileno(), 0x8946, ifreq)  # SIOCETHTOOL
        sock.close()


def main(argv):
    cmds = {
        "scenarios": (lambda: print("\n".join(s["name"] for s in scenarios())), (0,)),
        "prepare": (cmd_prepare, (1, 3)),
        "txcsum": (cmd_txcsum, None),
        "inject": (cmd_inject, (2,)),
        "finish": (cmd_finish, None),
        "finish-live": (cmd_finish_live, None),
        "txcsum-on": (cmd_txcsum_on, (2,)),
        "kind": (lambda name: print(scenario(name).get("kind", "probe")), (1,)),
        "check": (cmd_check, None),
    }
    if len(argv) < 2 or argv[1] not in cmds or (cmds[argv[1]][1] and len(argv) - 2 not in cmds[argv[1]][1]):
        sys.stderr.write(__doc__)
        return 2
    return cmds[argv[1]][0](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
