#!/usr/bin/env python3
"""Antrea-shaped OVS pipeline for the testbed topology.

Reads a topology description (tests/testbed/topology.json: Nodes, Pods, Services, network
policies) and prints, for one Node, the flows, groups and table names an Antrea agent would
program on that Node's br-int. The shapes follow Antrea's documented pipeline
(antrea-traceflow.md section 4; the corpus file antrea-ovs-pipeline-v1.15-all-tables.flows):
table names and order, register and mark layout, conjunctions for policy rules, select groups
for Services, cookies by category.

Usage:
  gen_pipeline.py TOPOLOGY tables            # table names in pipeline order (id = line number - 1)
  gen_pipeline.py TOPOLOGY flows NODE        # flows for `ovs-ofctl --bundle replace-flows`
  gen_pipeline.py TOPOLOGY groups NODE       # groups for `ovs-ofctl add-groups`
  gen_pipeline.py TOPOLOGY rules NODE        # conj id -> policy/rule that this Node realizes (JSON)

Deliberate simplifications (documented in docs/testbed.md): no agent, so no packet-in flows,
no NodePort/Egress/TrafficControl/multicast tables; Reject is realized like Drop (the agent would
answer with a TCP RST / ICMP unreachable through a packet-in).
"""

import hashlib
import ipaddress
import json
import sys

VIRTUAL_MAC = "aa:bb:cc:dd:ee:ff"  # Antrea's global virtual MAC
VIRTUAL_SERVICE_IP = "169.254.0.253"
CT_ZONE = 65520
SNAT_CT_ZONE = 65521
# Default ofports: clusters created by older Antrea versions keep tunnel 1 / gateway 2; new installs
# request 32768 / 32769 and leave 1, 2, ... to Pods (antrea-traceflow.md 4.1). Per Node in the topology.
TUN_OFPORT = 1
GW_OFPORT = 2
FIRST_POD_OFPORT = 3
TUN_PORT = "antrea-tun0"
GW_PORT = "antrea-gw0"

# Antrea's tables in its order (a subset: the features this testbed enables).
TABLES = [
    "PipelineRootClassifier",
    "ARPSpoofGuard",
    "ARPResponder",
    "Classifier",
    "SpoofGuard",
    "UnSNAT",
    "ConntrackZone",
    "ConntrackState",
    "PreRoutingClassifier",
    "SessionAffinity",
    "ServiceLB",
    "EndpointDNAT",
    "AntreaPolicyEgressRule",
    "EgressRule",
    "EgressDefaultRule",
    "EgressMetric",
    "L3Forwarding",
    "L3DecTTL",
    "SNATMark",
    "SNAT",
    "L2ForwardingCalc",
    "IngressSecurityClassifier",
    "AntreaPolicyIngressRule",
    "IngressRule",
    "IngressDefaultRule",
    "IngressMetric",
    "ConntrackCommit",
    "Output",
]

# Cookie: bits 63-48 round, 47-40 category, 31-0 object id (pkg/agent/openflow/cookie).
ROUND = 1
CAT_DEFAULT, CAT_POD, CAT_NP, CAT_SERVICE = 0, 1, 2, 3


def cookie(category, obj=0):
    return "0x%x" % ((ROUND << 48) | (category << 40) | obj)


def stable_hex(text, n):
    """n hex digits derived from text (deterministic stand-in for random ids)."""
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def local_mac(text):
    """A locally administered unicast MAC derived from text (as random-looking as Antrea's)."""
    b = bytearray(hashlib.sha1(text.encode()).digest()[:6])
    b[0] = (b[0] & 0xFC) | 0x02
    return ":".join("%02x" % x for x in b)


def ip_hex(ip):
    return "0x%x" % int(ipaddress.IPv4Address(ip))


class Topology:
    """The topology file with every derived identity (MACs, interface names, ofports)."""

    def __init__(self, doc):
        self.doc = doc
        self.nodes = doc["nodes"]
        self.services = doc.get("services", [])
        self.policies = doc.get("networkPolicies", [])
        for i, n in enumerate(self.nodes):
            net = ipaddress.ip_network(n["podCIDR"])
            n.setdefault("gatewayIP", str(net.network_address + 1))
            n.setdefault("gatewayMAC", local_mac("gw/" + n["name"]))
            n.setdefault("uplinkMAC", local_mac("uplink/" + n["name"]))
            n.setdefault("index", i + 1)
            n.setdefault("tunnelOfport", TUN_OFPORT)
            n.setdefault("gatewayOfport", GW_OFPORT)
            n.setdefault("firstPodOfport", FIRST_POD_OFPORT)
        self.pods = doc["pods"]
        ofport = {}
        for p in self.pods:
            node = p["node"]
            ofport[node] = ofport.get(node, self.node(node)["firstPodOfport"] - 1) + 1
            p.setdefault("ofport", ofport[node])
            p.setdefault("mac", local_mac("pod/%s/%s" % (p["namespace"], p["name"])))
            p.setdefault("containerID", stable_hex("container/%s/%s" % (p["namespace"], p["name"]), 64))
            p.setdefault("uid", uuid_of("pod/" + p["name"]))
            # pkg/agent/util/net.go generateInterfaceName: 8 chars of the name, '-', 6 hex of sha1(containerID)
            prefix = p["name"][:8].lstrip("-")
            p.setdefault("iface", "%s-%s" % (prefix, hashlib.sha1(p["containerID"].encode()).hexdigest()[:6]))

    def node(self, name):
        for n in self.nodes:
            if n["name"] == name:
                return n
        raise SystemExit("unknown node %r" % name)

    def pods_on(self, node):
        return [p for p in self.pods if p["node"] == node]

    def select(self, selector):
        if selector == "any":
            return None
        return [p for p in self.pods if all(p.get("labels", {}).get(k) == v for k, v in selector.items())]

    def pod_by_ip(self, ip):
        for p in self.pods:
            if p["ip"] == ip:
                return p
        return None

    def endpoints(self, svc):
        return self.select(svc["selector"])

    def node_of_cidr(self, ip):
        for n in self.nodes:
            if ipaddress.ip_address(ip) in ipaddress.ip_network(n["podCIDR"]):
                return n
        return None

    def rules(self):
        """Every policy rule with its conj id (one agent-wide allocator, as Antrea's)."""
        out = []
        conj = 0
        for pol in self.policies:
            antrea = pol["type"] != "K8sNetworkPolicy"
            for direction in ("egress", "ingress"):
                for i, rule in enumerate(pol.get(direction, [])):
                    conj += 1
                    out.append(
                        {
                            "conjId": conj,
                            "policy": pol,
                            "direction": direction,
                            "index": i,
                            "name": rule.get("name", ""),
                            "action": rule.get("action", "Allow"),
                            "peer": rule.get("peer", "any"),
                            "ports": rule.get("ports", []),
                            "antreaNative": antrea,
                        }
                    )
        return out


def uuid_of(text):
    h = stable_hex(text, 32)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def policy_ref(pol):
    """antrea-traceflow.md 1.5: <Type>:<ns>/<name>, cluster-scoped types without the namespace."""
    if pol["type"] in ("AntreaClusterNetworkPolicy", "K8sClusterNetworkPolicy"):
        return "%s:%s" % (pol["type"], pol["name"])
    return "%s:%s/%s" % (pol["type"], pol.get("namespace", ""), pol["name"])


class Flows:
    """Flows keyed by (table, priority, match); conjunction clause flows with equal keys merge."""

    def __init__(self):
        self.order = []
        self.flows = {}

    def add(self, table, priority, match, actions, ck):
        assert table in TABLES, table
        key = (table, priority, match)
        if key in self.flows:
            old = self.flows[key]
            if actions.startswith("conjunction(") and old[0].startswith("conjunction("):
                self.flows[key] = (old[0] + "," + actions, old[1])
                return
            raise SystemExit("duplicate flow %r" % (key,))
        self.order.append(key)
        self.flows[key] = (actions, ck)

    def lines(self):
        index = {t: i for i, t in enumerate(TABLES)}
        keys = sorted(self.order, key=lambda k: (index[k[0]], -k[1]))
        for table, priority, match in keys:
            actions, ck = self.flows[(table, priority, match)]
            m = ",%s" % match if match else ""
            yield "cookie=%s,table=%s,priority=%d%s,actions=%s" % (ck, table, priority, m, actions)


def goto(table):
    return "goto_table:%s" % table


def pipeline(topo, node_name):
    node = topo.node(node_name)
    pods = topo.pods_on(node_name)
    remotes = [n for n in topo.nodes if n["name"] != node_name]
    gw_ip, gw_mac = node["gatewayIP"], node["gatewayMAC"]
    f = Flows()
    d, pc, svc_ck = cookie(CAT_DEFAULT), cookie(CAT_POD), cookie(CAT_SERVICE)

    # --- PipelineRootClassifier / ARP
    f.add("PipelineRootClassifier", 200, "arp", goto("ARPSpoofGuard"), d)
    f.add("PipelineRootClassifier", 200, "ip", goto("Classifier"), d)
    f.add("PipelineRootClassifier", 0, "", "drop", d)
    f.add("ARPSpoofGuard", 200, "arp,in_port=%s,arp_spa=%s,arp_sha=%s" % (GW_PORT, gw_ip, gw_mac), goto("ARPResponder"), pc)
    for p in pods:
        f.add("ARPSpoofGuard", 200, "arp,in_port=%s,arp_spa=%s,arp_sha=%s" % (p["iface"], p["ip"], p["mac"]),
              goto("ARPResponder"), pc)
    f.add("ARPSpoofGuard", 0, "", "drop", d)
    for r in remotes:
        f.add("ARPResponder", 200, "arp,arp_tpa=%s,arp_op=1" % r["gatewayIP"],
              "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:%s->eth_src,set_field:2->arp_op,"
              "move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],set_field:%s->arp_sha,move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],"
              "set_field:%s->arp_spa,IN_PORT" % (VIRTUAL_MAC, VIRTUAL_MAC, r["gatewayIP"]), pc)
    f.add("ARPResponder", 190, "arp", "NORMAL", d)
    f.add("ARPResponder", 0, "", "drop", d)

    # --- Classifier (reg0[0..3] PktSource, reg0[9] RewriteMAC, reg4[27] FromExternal, reg4[28] FromLocal)
    f.add("Classifier", 210, "ip,in_port=%s,nw_src=%s" % (GW_PORT, gw_ip),
          "set_field:0x2/0xf->reg0,set_field:0x10000000/0x10000000->reg4,goto_table:SpoofGuard", pc)
    f.add("Classifier", 200, "in_port=%s" % GW_PORT,
          "set_field:0x2/0xf->reg0,set_field:0x8000000/0x8000000->reg4,goto_table:SpoofGuard", pc)
    f.add("Classifier", 200, "in_port=%s" % TUN_PORT,
          "set_field:0x1/0xf->reg0,set_field:0x200/0x200->reg0,goto_table:UnSNAT", pc)
    for p in pods:
        f.add("Classifier", 190, "in_port=%s" % p["iface"],
              "set_field:0x3/0xf->reg0,set_field:0x10000000/0x10000000->reg4,goto_table:SpoofGuard", pc)
    f.add("Classifier", 0, "", "drop", d)

    # --- SpoofGuard, UnSNAT, conntrack
    f.add("SpoofGuard", 200, "ip,in_port=%s" % GW_PORT, goto("UnSNAT"), pc)
    for p in pods:
        f.add("SpoofGuard", 200, "ip,in_port=%s,dl_src=%s,nw_src=%s" % (p["iface"], p["mac"], p["ip"]), goto("UnSNAT"), pc)
    f.add("SpoofGuard", 0, "", "drop", d)
    f.add("UnSNAT", 200, "ip,nw_dst=%s" % VIRTUAL_SERVICE_IP, "ct(table=ConntrackZone,zone=%d,nat)" % SNAT_CT_ZONE, svc_ck)
    f.add("UnSNAT", 200, "ip,nw_dst=%s" % gw_ip, "ct(table=ConntrackZone,zone=%d,nat)" % SNAT_CT_ZONE, svc_ck)
    f.add("UnSNAT", 0, "", goto("ConntrackZone"), d)
    f.add("ConntrackZone", 200, "ip", "ct(table=ConntrackState,zone=%d,nat)" % CT_ZONE, d)
    f.add("ConntrackZone", 0, "", goto("ConntrackState"), d)
    f.add("ConntrackState", 200, "ct_state=+inv+trk,ip", "drop", d)
    f.add("ConntrackState", 190, "ct_state=-new+trk,ct_mark=0/0x10,ip", goto("AntreaPolicyEgressRule"), d)
    f.add("ConntrackState", 190, "ct_state=-new+trk,ct_mark=0x10/0x10,ip",
          "set_field:0x200/0x200->reg0,goto_table:AntreaPolicyEgressRule", svc_ck)
    f.add("ConntrackState", 0, "", goto("PreRoutingClassifier"), d)

    # --- Services (AntreaProxy programs every Service on every Node)
    f.add("PreRoutingClassifier", 200, "ip", "resubmit(,SessionAffinity),resubmit(,ServiceLB)", d)
    f.add("PreRoutingClassifier", 0, "", goto("SessionAffinity"), d)
    f.add("SessionAffinity", 0, "", "set_field:0x10000/0x70000->reg4", d)
    for gid, svc in enumerate(topo.services, start=1):
        for port in svc["ports"]:
            proto = port["protocol"].lower()
            f.add("ServiceLB", 200, "%s,reg4=0x10000/0x70000,nw_dst=%s,tp_dst=%d" % (proto, svc["clusterIP"], port["port"]),
                  "set_field:0x200/0x200->reg0,set_field:0x20000/0x70000->reg4,set_field:0x%x->reg7,group:%d" % (gid, gid),
                  cookie(CAT_SERVICE, gid))
    f.add("ServiceLB", 0, "", goto("EndpointDNAT"), d)
    f.add("EndpointDNAT", 200, "reg0=0x4000/0x4000", "controller(reason=no_match,id=62373,userdata=04)", svc_ck)
    seen = set()
    for gid, svc in enumerate(topo.services, start=1):
        for port in svc["ports"]:
            proto = port["protocol"].lower()
            for ep in topo.endpoints(svc):
                key = (proto, ep["ip"], port["targetPort"])
                if key in seen:
                    continue
                seen.add(key)
                f.add("EndpointDNAT", 200, "%s,reg3=%s,reg4=0x2%04x/0x7ffff" % (proto, ip_hex(ep["ip"]), port["targetPort"]),
                      "ct(commit,table=AntreaPolicyEgressRule,zone=%d,nat(dst=%s:%d),exec(set_field:0x10/0x10->ct_mark))"
                      % (CT_ZONE, ep["ip"], port["targetPort"]), cookie(CAT_SERVICE, gid))
    f.add("EndpointDNAT", 190, "reg4=0x20000/0x70000", "set_field:0x10000/0x70000->reg4,resubmit(,ServiceLB)", svc_ck)
    f.add("EndpointDNAT", 0, "", goto("AntreaPolicyEgressRule"), d)

    # --- Network policies
    policy_flows(topo, node_name, f)

    # --- Routing
    f.add("L3Forwarding", 210, "ip,nw_dst=%s" % gw_ip,
          "set_field:%s->eth_dst,set_field:0x20/0xf0->reg0,goto_table:L3DecTTL" % gw_mac, pc)
    f.add("L3Forwarding", 210, "ct_state=+rpl+trk,ct_mark=0x2/0xf,ip",
          "set_field:%s->eth_dst,set_field:0x20/0xf0->reg0,goto_table:L3DecTTL" % gw_mac, pc)
    f.add("L3Forwarding", 200, "ip,reg0=0/0x200,nw_dst=%s" % node["podCIDR"], goto("L2ForwardingCalc"), pc)
    for r in remotes:
        f.add("L3Forwarding", 200, "ip,nw_dst=%s" % r["podCIDR"],
              "set_field:%s->eth_src,set_field:%s->eth_dst,set_field:%s->tun_dst,set_field:0x10/0xf0->reg0,goto_table:L3DecTTL"
              % (gw_mac, VIRTUAL_MAC, r["transportIP"]), pc)
    for p in pods:
        f.add("L3Forwarding", 200, "ip,reg0=0x200/0x200,nw_dst=%s" % p["ip"],
              "set_field:%s->eth_src,set_field:%s->eth_dst,goto_table:L3DecTTL" % (gw_mac, p["mac"]), pc)
    f.add("L3Forwarding", 0, "", "set_field:0x20/0xf0->reg0,goto_table:L2ForwardingCalc", d)
    f.add("L3DecTTL", 210, "ip,reg0=0x2/0xf", goto("SNATMark"), d)
    f.add("L3DecTTL", 200, "ip", "dec_ttl,goto_table:SNATMark", d)
    f.add("L3DecTTL", 0, "", goto("SNATMark"), d)

    # --- PostRouting: hairpin SNAT (a Pod reaching itself through a Service)
    mark = "move:NXM_NX_REG0[0..3]->NXM_NX_CT_MARK[0..3]"
    for p in pods:
        f.add("SNATMark", 190, "ct_state=+new+trk,ip,nw_src=%s,nw_dst=%s" % (p["ip"], p["ip"]),
              "ct(commit,table=SNAT,zone=%d,exec(set_field:0x20/0x20->ct_mark,set_field:0x40/0x40->ct_mark,%s))"
              % (CT_ZONE, mark), svc_ck)
    f.add("SNATMark", 0, "", goto("SNAT"), d)
    snat_exec = "exec(set_field:0x10/0x10->ct_mark,set_field:0x20/0x20->ct_mark,set_field:0x40/0x40->ct_mark)"
    f.add("SNAT", 200, "ct_state=+new+trk,ct_mark=0x40/0x40,ip,reg0=0x2/0xf",
          "ct(commit,table=L2ForwardingCalc,zone=%d,nat(src=%s),%s)" % (SNAT_CT_ZONE, VIRTUAL_SERVICE_IP, snat_exec), svc_ck)
    f.add("SNAT", 200, "ct_state=+new+trk,ct_mark=0x40/0x40,ip,reg0=0x3/0xf",
          "ct(commit,table=L2ForwardingCalc,zone=%d,nat(src=%s),%s)" % (SNAT_CT_ZONE, gw_ip, snat_exec), svc_ck)
    f.add("SNAT", 200, "ct_state=-new-rpl+trk,ct_mark=0x20/0x20,ip", "ct(table=L2ForwardingCalc,zone=%d,nat)" % SNAT_CT_ZONE,
          svc_ck)
    f.add("SNAT", 0, "", goto("L2ForwardingCalc"), d)

    # --- Switching
    out_mark = "set_field:0x200000/0x600000->reg0"
    f.add("L2ForwardingCalc", 200, "dl_dst=%s" % gw_mac,
          "set_field:0x%x->reg1,%s,goto_table:IngressSecurityClassifier" % (node["gatewayOfport"], out_mark), pc)
    f.add("L2ForwardingCalc", 200, "dl_dst=%s" % VIRTUAL_MAC,
          "set_field:0x%x->reg1,%s,goto_table:IngressSecurityClassifier" % (node["tunnelOfport"], out_mark), pc)
    for p in pods:
        f.add("L2ForwardingCalc", 200, "dl_dst=%s" % p["mac"],
              "set_field:0x%x->reg1,%s,goto_table:IngressSecurityClassifier" % (p["ofport"], out_mark), pc)
    f.add("L2ForwardingCalc", 0, "", goto("IngressSecurityClassifier"), d)

    # --- IngressSecurity: traffic to the gateway or the tunnel skips ingress rules
    f.add("IngressSecurityClassifier", 200, "reg0=0x20/0xf0", goto("IngressMetric"), d)
    f.add("IngressSecurityClassifier", 200, "reg0=0x10/0xf0", goto("IngressMetric"), d)
    f.add("IngressSecurityClassifier", 200, "ct_mark=0x40/0x40", goto("ConntrackCommit"), d)
    f.add("IngressSecurityClassifier", 0, "", goto("AntreaPolicyIngressRule"), d)

    # --- Conntrack commit, Output
    f.add("ConntrackCommit", 200, "ct_state=+new+trk,ct_mark=0/0x20,ip",
          "ct(commit,table=Output,zone=%d,exec(%s))" % (CT_ZONE, mark), d)
    f.add("ConntrackCommit", 0, "", goto("Output"), d)
    f.add("Output", 210, "ct_mark=0x40/0x40", "IN_PORT", d)
    f.add("Output", 200, "reg0=0x200000/0x600000", "output:NXM_NX_REG1[]", d)
    f.add("Output", 0, "", "drop", d)
    return f


def policy_flows(topo, node_name, f):
    """Policy rules realized on node_name (only rules whose appliedTo Pods run here)."""
    d = cookie(CAT_DEFAULT)
    f.add("AntreaPolicyEgressRule", 64990, "ct_state=-new+est,ip", goto("EgressMetric"), d)
    f.add("AntreaPolicyEgressRule", 64990, "ct_state=-new+rel,ip", goto("EgressMetric"), d)
    f.add("AntreaPolicyIngressRule", 64990, "ct_state=-new+est,ip", goto("IngressMetric"), d)
    f.add("AntreaPolicyIngressRule", 64990, "ct_state=-new+rel,ip", goto("IngressMetric"), d)
    isolated = {"egress": [], "ingress": []}
    for pol in topo.policies:
        if pol["type"] != "K8sNetworkPolicy":
            continue
        applied = [p for p in topo.select(pol["appliedTo"]) if p["node"] == node_name]
        for t in pol.get("policyTypes", []):
            isolated[t.lower()].extend(applied)
    for r in realized_rules(topo, node_name):
        pol, conj, egress = r["policy"], r["conjId"], r["direction"] == "egress"
        ck = cookie(CAT_NP, conj)
        applied = [p for p in topo.select(pol["appliedTo"]) if p["node"] == node_name]
        peers = topo.select(r["peer"]) if r["peer"] != "any" else None
        if r["antreaNative"]:
            table = "AntreaPolicyEgressRule" if egress else "AntreaPolicyIngressRule"
            prio = 14900 - 100 * (pol.get("priority", 1) - 1) - r["index"]
        else:
            table = "EgressRule" if egress else "IngressRule"
            prio = 200
        clauses = []
        # Egress: 1 = the applied-to Pods (source), 2 = peers (destination). Ingress: 1 = peers (source),
        # 2 = the applied-to Pods (destination port reg1). 3 = services. A dummy `ip` clause stands for "any".
        if egress:
            clauses.append(["ip,nw_src=%s" % p["ip"] for p in applied])
            clauses.append(["ip,nw_dst=%s" % p["ip"] for p in peers] if peers is not None else ["ip"])
        else:
            clauses.append(["ip,nw_src=%s" % p["ip"] for p in peers] if peers is not None else ["ip"])
            clauses.append(["reg1=0x%x" % p["ofport"] for p in applied])
        if r["ports"]:
            clauses.append(["%s,tp_dst=%d" % (pt["protocol"].lower(), pt["port"]) for pt in r["ports"]])
        n = len(clauses)
        for k, matches in enumerate(clauses, start=1):
            for m in matches:
                f.add(table, prio, m, "conjunction(%d,%d/%d)" % (conj, k, n), ck)
        metric = "EgressMetric" if egress else "IngressMetric"
        action_prio = prio if r["antreaNative"] else 190
        if r["action"] == "Allow":
            reg = "reg5" if egress else "reg6"
            label = ("0x%x/0xffffffff00000000" % (conj << 32)) if egress else ("0x%x/0xffffffff" % conj)
            f.add(table, action_prio, "conj_id=%d,ip" % conj,
                  "set_field:0x%x->%s,ct(commit,table=%s,zone=%d,exec(set_field:%s->ct_label))"
                  % (conj, reg, metric, CT_ZONE, label), ck)
            f.add(metric, 200, "ct_state=+new,ct_label=%s,ip" % label, goto(next_after_metric(egress)), ck)
            f.add(metric, 200, "ct_state=-new,ct_label=%s,ip" % label, goto(next_after_metric(egress)), ck)
        else:
            # Drop / Reject: reg3 = conj id (APConjIDField), reg0[10] = APDenyRegMark; Reject also
            # loads PacketInOperation (reg0[25..31]) = 2 for the agent, which this testbed has not.
            extra = ",set_field:0x4000000/0xfe000000->reg0" if r["action"] == "Reject" else ""
            f.add(table, action_prio, "conj_id=%d" % conj,
                  "set_field:0x%x->reg3,set_field:0x400/0x400->reg0%s,goto_table:%s" % (conj, extra, metric), ck)
            f.add(metric, 200, "reg0=0x400/0x400,reg3=0x%x" % conj, "drop", ck)
    for p in isolated["egress"]:
        f.add("EgressDefaultRule", 200, "ip,nw_src=%s" % p["ip"], "drop", cookie(CAT_NP))
    for p in isolated["ingress"]:
        f.add("IngressDefaultRule", 200, "reg1=0x%x" % p["ofport"], "drop", cookie(CAT_NP))
    f.add("AntreaPolicyEgressRule", 0, "", goto("EgressRule"), d)
    f.add("EgressRule", 0, "", goto("EgressDefaultRule"), d)
    f.add("EgressDefaultRule", 0, "", goto("EgressMetric"), d)
    f.add("EgressMetric", 0, "", goto("L3Forwarding"), d)
    f.add("AntreaPolicyIngressRule", 0, "", goto("IngressRule"), d)
    f.add("IngressRule", 0, "", goto("IngressDefaultRule"), d)
    f.add("IngressDefaultRule", 0, "", goto("IngressMetric"), d)
    f.add("IngressMetric", 0, "", goto("ConntrackCommit"), d)


def next_after_metric(egress):
    return "L3Forwarding" if egress else "ConntrackCommit"


def realized_rules(topo, node_name):
    """Rules with at least one applied-to Pod on node_name (and at least one clause per dimension)."""
    out = []
    for r in topo.rules():
        applied = [p for p in topo.select(r["policy"]["appliedTo"]) if p["node"] == node_name]
        if not applied:
            continue
        if r["peer"] != "any" and not topo.select(r["peer"]):
            continue
        out.append(r)
    return out


def groups(topo, node_name):
    lines = []
    for gid, svc in enumerate(topo.services, start=1):
        port = svc["ports"][0]
        buckets = []
        for i, ep in enumerate(topo.endpoints(svc)):
            remote = "set_field:0x4000000/0x4000000->reg4," if ep["node"] != node_name else ""
            buckets.append("bucket=bucket_id:%d,weight:100,actions=%sset_field:%s->reg3,set_field:0x%x/0xffff->reg4,"
                           "resubmit(,EndpointDNAT)" % (i, remote, ip_hex(ep["ip"]), port["targetPort"]))
        if not buckets:
            buckets.append("bucket=bucket_id:0,weight:100,actions=set_field:0x4000/0x4000->reg0,resubmit(,EndpointDNAT)")
        lines.append("group_id=%d,type=select,%s" % (gid, ",".join(buckets)))
    return lines


def load(path):
    with open(path) as fh:
        return Topology(json.load(fh))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    topo = load(argv[1])
    cmd = argv[2]
    if cmd == "tables":
        print("\n".join(TABLES))
    elif cmd == "flows" and len(argv) == 4:
        print("\n".join(pipeline(topo, argv[3]).lines()))
    elif cmd == "groups" and len(argv) == 4:
        print("\n".join(groups(topo, argv[3])))
    elif cmd == "rules" and len(argv) == 4:
        rules = [
            {"conjId": r["conjId"], "networkPolicy": policy_ref(r["policy"]), "networkPolicyRule": r["name"],
             "direction": r["direction"], "action": r["action"]}
            for r in realized_rules(topo, argv[3])
        ]
        print(json.dumps(rules, indent=2))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
