//! Antrea's packet-in → observations algorithm (antrea-traceflow.md §3.4): from the state a probe
//! has at its terminal point on one node (table, registers, conntrack original tuple, tunnel
//! destination, packet mark, addresses) to the ordered observation list Antrea would report.
//!
//! hoptrace gets that state from its simulator and captures instead of a packet-in; the rules that
//! turn it into observations are Antrea's, unchanged.

use super::node::PortRole;
use super::observation::{Action, Component, Observation};
use super::registers::REMOTE_SNAT;
use super::tables::{Direction, Table};
use super::version::AntreaVersion;
use std::net::IpAddr;

/// `reg0` bit 19: the probe needs Egress SNAT on a remote Egress node (RemoteSNATRegMark).
pub const REMOTE_SNAT_REG_MARK: u32 = 1 << REMOTE_SNAT.start;

/// Antrea's traffic modes, which change how an Output to the gateway is classified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrafficMode {
    /// Overlay (Geneve/VXLAN/GRE/STT tunnels): the default.
    #[default]
    Encap,
    /// Direct routing through the host.
    NoEncap,
    /// Tunnels across subnets, routing within.
    Hybrid,
    /// Another CNI routes; Antrea only enforces policy.
    NetworkPolicyOnly,
}

impl TrafficMode {
    fn encap_capable(self) -> bool {
        matches!(self, TrafficMode::Encap | TrafficMode::Hybrid)
    }
}

/// The state of the probe where Antrea's controller action would have run on this node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TerminalState {
    /// Table name of the observation point: `Output`, `IngressDefaultRule`, `EgressDefaultRule`,
    /// `IngressMetric`, `EgressMetric`.
    pub table: String,
    /// reg0 (marks: RemoteSNAT, output, ...).
    pub reg0: u32,
    /// reg1: the output port chosen by L2ForwardingCalc.
    pub reg1: u32,
    /// reg3: the conj id of an Antrea-native deny rule at the Metric tables.
    pub reg3: u32,
    /// reg5: conj id of the egress allow/pass rule hit.
    pub reg5: u32,
    /// reg6: conj id of the ingress allow/pass rule hit.
    pub reg6: u32,
    /// Conntrack original-direction source, when the probe went through conntrack.
    pub ct_nw_src: Option<IpAddr>,
    /// Conntrack original-direction destination.
    pub ct_nw_dst: Option<IpAddr>,
    /// Tunnel destination set for the probe.
    pub tun_dst: Option<IpAddr>,
    /// pkt_mark (Egress SNAT mark).
    pub pkt_mark: u32,
    /// The probe's source address at this point (after any SNAT).
    pub packet_src: Option<IpAddr>,
    /// The probe's destination address at this point (after any DNAT).
    pub packet_dst: Option<IpAddr>,
    /// The role of the port a capture saw the probe leave OVS on, when no flow says which port
    /// reg1 held (its number may then be unknown too).
    pub exit_seen: Option<PortRole>,
}

impl TerminalState {
    /// The Antrea table of the terminal point.
    pub fn table(&self) -> Option<Table> {
        Table::from_name(&self.table)
    }
}

/// A NetworkPolicy rule a conj id stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRule {
    /// `<Type>:<ns>/<name>` or `<Type>:<name>` (antrea-traceflow.md §1.5).
    pub policy: String,
    /// The rule name (K8s NetworkPolicy rules have none).
    pub rule: Option<String>,
    /// The rule's action is Reject.
    pub reject: bool,
}

/// An Egress (for the Egress observations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EgressInfo {
    /// Egress CR name.
    pub name: Option<String>,
    /// Its IP.
    pub ip: Option<String>,
    /// The Egress node.
    pub node: Option<String>,
}

/// What is known about the node that makes the observations.
#[derive(Clone, Debug, Default)]
pub struct ObservingNode {
    /// This node owns the source Pod (its first observation is SpoofGuard).
    pub is_sender: bool,
    /// The cluster's traffic mode.
    pub mode: TrafficMode,
    /// WireGuard encryption is on.
    pub wireguard: bool,
    /// The tunnel port's ofport.
    pub tunnel_port: Option<u32>,
    /// The gateway port's ofport.
    pub gateway_port: Option<u32>,
    /// The gateway's IPs.
    pub gateway_ips: Vec<IpAddr>,
    /// The probe's destination is in some Pod subnet.
    pub dst_in_pod_subnet: bool,
    /// With WireGuard: the transport IP of the node owning the destination's Pod subnet.
    pub dst_remote_node_ip: Option<IpAddr>,
    /// The source Pod's Egress, if one applies.
    pub egress: Option<EgressInfo>,
    /// The Egress IP that `pkt_mark` stands for.
    pub egress_ip_for_mark: Option<String>,
    /// The agent's release (agentinfo `version`), which picks the vocabulary where releases
    /// differ; unknown: the current release's.
    pub version: Option<AntreaVersion>,
}

/// Resolves conj ids to the rules they realise (from the bundle's policies, per-policy dumps, ...).
pub trait PolicyLookup {
    /// The rule behind `conj_id`, if it can be attributed.
    fn rule(&self, conj_id: u32) -> Option<PolicyRule>;
}

/// No attribution available.
pub struct NoPolicies;

impl PolicyLookup for NoPolicies {
    fn rule(&self, _: u32) -> Option<PolicyRule> {
        None
    }
}

/// Builds the ordered observation list Antrea would report for this node.
pub fn observations(node: &ObservingNode, state: &TerminalState, policies: &dyn PolicyLookup) -> Vec<Observation> {
    let mut out = Vec::new();
    let valid = |ip: Option<IpAddr>| ip.filter(|ip| !in_zero_block(*ip));

    // 1. First observation.
    if node.is_sender {
        let mut sg = Observation::new(Component::SpoofGuard, Action::Forwarded);
        sg.src_pod_ip = valid(state.ct_nw_src).or(state.packet_src).map(|ip| ip.to_string());
        out.push(sg);
    } else {
        out.push(Observation::new(Component::Forwarding, Action::Received));
    }

    // 2. LB: the conntrack original tuple differs from the packet.
    let dst_changed = matches!((valid(state.ct_nw_dst), state.packet_dst), (Some(c), Some(p)) if c != p);
    let src_changed = matches!((valid(state.ct_nw_src), state.packet_src), (Some(c), Some(p)) if c != p);
    if dst_changed || src_changed {
        let mut lb = Observation::new(Component::LB, Action::Forwarded);
        lb.translated_dst_ip = state.packet_dst.map(|ip| ip.to_string());
        if src_changed {
            lb.translated_src_ip = state.packet_src.map(|ip| ip.to_string());
        }
        out.push(lb);
    }

    // 3 and 4. Allow rules recorded in reg5 / reg6.
    let at = state.table();
    for (conj, direction) in [(state.reg5, Direction::Egress), (state.reg6, Direction::Ingress)] {
        if conj == 0 {
            continue;
        }
        let at_drop = at.filter(|t| t.is_policy_drop_point() && t.direction() == Some(direction));
        let (info, action) = match at_drop {
            Some(t) => (t, Action::Dropped),
            None => (Table::rule_table(direction), Action::Forwarded),
        };
        let mut o = Observation::new(Component::NetworkPolicy, action).with_info(info.name());
        attribute(&mut o, conj, policies);
        out.push(o);
    }

    // 5. Drop points.
    match at {
        Some(t) if t.is_policy_drop_point() && t.is_metric() => {
            let mut o = Observation::new(Component::NetworkPolicy, Action::Dropped).with_info(t.name());
            if state.reg3 != 0 {
                if let Some(rule) = attribute(&mut o, state.reg3, policies) {
                    if rule.reject {
                        o.action = Action::Rejected;
                    }
                }
            }
            out.push(o);
        }
        Some(t) if t.is_policy_drop_point() => {
            out.push(Observation::new(Component::NetworkPolicy, Action::Dropped).with_info(t.name()));
        }
        _ => {}
    }

    // 6. Output.
    if at == Some(Table::Output) {
        out.extend(output_observations(node, state));
    }
    out
}

/// Fills networkPolicy / networkPolicyRule for `conj`, or says it could not be attributed.
fn attribute(o: &mut Observation, conj: u32, policies: &dyn PolicyLookup) -> Option<PolicyRule> {
    match policies.rule(conj) {
        Some(rule) => {
            o.network_policy = Some(rule.policy.clone());
            o.network_policy_rule = rule.rule.clone();
            Some(rule)
        }
        None => {
            o.network_policy = Some(format!("unattributed conj_id {conj}"));
            None
        }
    }
}

fn output_observations(node: &ObservingNode, state: &TerminalState) -> Vec<Observation> {
    let mut out = Vec::new();
    let port = state.reg1;
    let is_tunnel = node.tunnel_port == Some(port) || state.exit_seen == Some(PortRole::Tunnel);
    let is_gateway = node.gateway_port == Some(port) || state.exit_seen == Some(PortRole::Gateway);
    let to_gateway_ip = state.packet_dst.is_some_and(|d| node.gateway_ips.contains(&d));
    let output = |action: Action| Observation::new(Component::Forwarding, action).with_info(Table::Output.name());
    let egress_obs = |action: Action, full: bool| {
        let mut e = Observation::new(Component::Egress, action);
        if let Some(info) = &node.egress {
            if full {
                e.egress = info.name.clone();
                e.egress_node = info.node.clone();
            }
            e.egress_ip = info.ip.clone();
        }
        e
    };
    if node.mode.encap_capable() && is_tunnel {
        if state.reg0 & REMOTE_SNAT_REG_MARK != 0 {
            out.push(egress_obs(Action::ForwardedToEgressNode, true));
        }
        let mut o = output(Action::Forwarded);
        o.tunnel_dst_ip = state.tun_dst.map(|ip| ip.to_string());
        out.push(o);
    } else if to_gateway_ip && is_gateway {
        out.push(output(Action::Delivered));
    } else if node.mode.encap_capable() && is_gateway {
        // Up to v2.4 every exit through the gateway in these modes was `ForwardedOutOfOverlay`
        // (see [`AntreaVersion::says_forwarded_out_of_overlay`]).
        let legacy = node.version.is_some_and(AntreaVersion::says_forwarded_out_of_overlay);
        let out_of_network = if legacy { Action::ForwardedOutOfOverlay } else { Action::ForwardedOutOfNetwork };
        if state.pkt_mark != 0 {
            // With no tun_dst the source Pod is local: name, IP and node of its Egress; a probe
            // that arrived over a tunnel only has the IP the mark stands for.
            let mut e = egress_obs(Action::MarkedForSNAT, state.tun_dst.is_none());
            if state.tun_dst.is_some() {
                e.egress_ip = node.egress_ip_for_mark.clone().or(e.egress_ip);
            }
            out.push(e);
            out.push(output(out_of_network));
        } else if legacy {
            out.push(output(out_of_network));
        } else if node.wireguard && node.dst_remote_node_ip.is_some() {
            let mut o = output(Action::Forwarded);
            o.tunnel_dst_ip = node.dst_remote_node_ip.map(|ip| ip.to_string());
            out.push(o);
        } else if node.mode == TrafficMode::Hybrid && node.dst_in_pod_subnet {
            out.push(output(Action::Forwarded));
        } else {
            out.push(output(Action::ForwardedOutOfNetwork));
        }
    } else if matches!(node.mode, TrafficMode::NetworkPolicyOnly | TrafficMode::NoEncap) && is_gateway {
        out.push(output(if node.dst_in_pod_subnet { Action::Forwarded } else { Action::ForwardedOutOfNetwork }));
    } else {
        out.push(output(Action::Delivered));
    }
    out
}

/// `0000::/8` for IPv6 (an OVS quirk leaves ICMPv6 ct tuples there), 0.0.0.0 for IPv4.
fn in_zero_block(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_unspecified(),
        IpAddr::V6(v6) => v6.octets()[0] == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Rules(HashMap<u32, PolicyRule>);
    impl PolicyLookup for Rules {
        fn rule(&self, id: u32) -> Option<PolicyRule> {
            self.0.get(&id).cloned()
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn node(sender: bool) -> ObservingNode {
        ObservingNode {
            is_sender: sender,
            tunnel_port: Some(1),
            gateway_port: Some(2),
            gateway_ips: vec!["10.10.0.1".parse().unwrap()],
            ..Default::default()
        }
    }

    fn rules() -> Rules {
        Rules(HashMap::from([
            (
                5,
                PolicyRule {
                    policy: "K8sNetworkPolicy:ns/test-networkpolicy-allow-all-egress".into(),
                    rule: None,
                    reject: false,
                },
            ),
            (
                9,
                PolicyRule {
                    policy: "AntreaNetworkPolicy:ns/test-annp-deny-ingress".into(),
                    rule: Some("ingress-drop".into()),
                    reject: false,
                },
            ),
            (
                10,
                PolicyRule {
                    policy: "AntreaNetworkPolicy:ns/test-annp-reject-ingress".into(),
                    rule: Some("ingress-reject".into()),
                    reject: true,
                },
            ),
        ]))
    }

    fn summary(obs: &[Observation]) -> Vec<String> {
        obs.iter()
            .map(|o| {
                format!(
                    "{:?}/{}/{:?}{}",
                    o.component,
                    o.component_info.as_deref().unwrap_or("-"),
                    o.action,
                    o.network_policy.as_ref().map(|p| format!(" {p}")).unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn intra_node_allowed_delivered() {
        let st = TerminalState {
            table: "Output".into(),
            reg1: 7,
            reg5: 5,
            ct_nw_src: ip("10.10.0.5"),
            ct_nw_dst: ip("10.10.0.6"),
            packet_src: ip("10.10.0.5"),
            packet_dst: ip("10.10.0.6"),
            ..Default::default()
        };
        let obs = observations(&node(true), &st, &rules());
        assert_eq!(
            summary(&obs),
            [
                "SpoofGuard/-/Forwarded",
                "NetworkPolicy/EgressRule/Forwarded K8sNetworkPolicy:ns/test-networkpolicy-allow-all-egress",
                "Forwarding/Output/Delivered"
            ]
        );
        assert_eq!(obs[0].src_pod_ip.as_deref(), Some("10.10.0.5"));
    }

    #[test]
    fn inter_node_service_both_sides() {
        let sender = TerminalState {
            table: "Output".into(),
            reg1: 1,
            reg5: 5,
            ct_nw_src: ip("10.10.0.5"),
            ct_nw_dst: ip("10.96.0.10"),
            tun_dst: ip("192.168.77.102"),
            packet_src: ip("10.10.0.5"),
            packet_dst: ip("10.10.1.7"),
            ..Default::default()
        };
        let obs = observations(&node(true), &sender, &rules());
        assert_eq!(
            summary(&obs),
            [
                "SpoofGuard/-/Forwarded",
                "LB/-/Forwarded",
                "NetworkPolicy/EgressRule/Forwarded K8sNetworkPolicy:ns/test-networkpolicy-allow-all-egress",
                "Forwarding/Output/Forwarded"
            ]
        );
        assert_eq!(obs[1].translated_dst_ip.as_deref(), Some("10.10.1.7"));
        assert_eq!(obs[1].translated_src_ip, None);
        assert_eq!(obs[3].tunnel_dst_ip.as_deref(), Some("192.168.77.102"));
        let receiver = TerminalState {
            table: "Output".into(),
            reg1: 9,
            ct_nw_src: ip("10.10.0.5"),
            ct_nw_dst: ip("10.10.1.7"),
            packet_src: ip("10.10.0.5"),
            packet_dst: ip("10.10.1.7"),
            ..Default::default()
        };
        assert_eq!(
            summary(&observations(&node(false), &receiver, &NoPolicies)),
            ["Forwarding/-/Received", "Forwarding/Output/Delivered"]
        );
    }

    #[test]
    fn hairpin_service_has_translated_src() {
        let st = TerminalState {
            table: "Output".into(),
            reg1: 7,
            ct_nw_src: ip("10.10.0.5"),
            ct_nw_dst: ip("10.96.0.10"),
            packet_src: ip("10.10.0.1"),
            packet_dst: ip("10.10.0.5"),
            ..Default::default()
        };
        let obs = observations(&node(true), &st, &NoPolicies);
        assert_eq!(obs[1].translated_src_ip.as_deref(), Some("10.10.0.1"));
        assert_eq!(obs.last().unwrap().action, Action::Delivered);
    }

    #[test]
    fn drops() {
        let base = TerminalState { packet_src: ip("10.10.0.5"), packet_dst: ip("10.10.0.6"), ..Default::default() };
        let k8s = TerminalState { table: "IngressDefaultRule".into(), reg5: 5, ..base.clone() };
        assert_eq!(
            summary(&observations(&node(true), &k8s, &rules())),
            [
                "SpoofGuard/-/Forwarded",
                "NetworkPolicy/EgressRule/Forwarded K8sNetworkPolicy:ns/test-networkpolicy-allow-all-egress",
                "NetworkPolicy/IngressDefaultRule/Dropped"
            ]
        );
        let annp = TerminalState { table: "IngressMetric".into(), reg3: 9, ..base.clone() };
        let obs = observations(&node(true), &annp, &rules());
        assert_eq!(
            summary(&obs),
            [
                "SpoofGuard/-/Forwarded",
                "NetworkPolicy/IngressMetric/Dropped AntreaNetworkPolicy:ns/test-annp-deny-ingress"
            ]
        );
        assert_eq!(obs[1].network_policy_rule.as_deref(), Some("ingress-drop"));
        let reject = TerminalState { table: "IngressMetric".into(), reg3: 10, ..base.clone() };
        assert_eq!(observations(&node(true), &reject, &rules())[1].action, Action::Rejected);
        let unknown = TerminalState { table: "EgressMetric".into(), reg3: 77, ..base };
        let obs = observations(&node(true), &unknown, &rules());
        assert_eq!(obs[1].network_policy.as_deref(), Some("unattributed conj_id 77"));
    }

    #[test]
    fn out_of_network_and_gateway() {
        let ext = TerminalState {
            table: "Output".into(),
            reg1: 2,
            packet_src: ip("10.10.0.5"),
            packet_dst: ip("8.8.8.8"),
            ..Default::default()
        };
        assert_eq!(
            summary(&observations(&node(true), &ext, &NoPolicies)),
            ["SpoofGuard/-/Forwarded", "Forwarding/Output/ForwardedOutOfNetwork"]
        );
        // Agents up to v2.4 name the same exit ForwardedOutOfOverlay; v2.5 and later, and an
        // unknown version, ForwardedOutOfNetwork.
        for (version, action) in [("v2.4.3", "ForwardedOutOfOverlay"), ("v2.5.0", "ForwardedOutOfNetwork")] {
            let agent = ObservingNode { version: AntreaVersion::parse(version), ..node(true) };
            assert_eq!(
                summary(&observations(&agent, &ext, &NoPolicies))[1],
                format!("Forwarding/Output/{action}"),
                "{version}"
            );
        }
        let gw = TerminalState { packet_dst: ip("10.10.0.1"), ..ext.clone() };
        assert_eq!(observations(&node(true), &gw, &NoPolicies)[1].action, Action::Delivered);
        let mut egress_node = node(true);
        egress_node.egress = Some(EgressInfo {
            name: Some("egress-a".into()),
            ip: Some("192.168.77.200".into()),
            node: Some("n1".into()),
        });
        let marked = TerminalState { pkt_mark: 1, ..ext.clone() };
        let obs = observations(&egress_node, &marked, &NoPolicies);
        assert_eq!(
            summary(&obs),
            ["SpoofGuard/-/Forwarded", "Egress/-/MarkedForSNAT", "Forwarding/Output/ForwardedOutOfNetwork"]
        );
        assert_eq!(obs[1].egress.as_deref(), Some("egress-a"));
        let remote = TerminalState { reg1: 1, reg0: REMOTE_SNAT_REG_MARK, tun_dst: ip("192.168.77.101"), ..ext };
        let obs = observations(&egress_node, &remote, &NoPolicies);
        assert_eq!(
            summary(&obs),
            ["SpoofGuard/-/Forwarded", "Egress/-/ForwardedToEgressNode", "Forwarding/Output/Forwarded"]
        );
        let mut noencap = node(true);
        noencap.mode = TrafficMode::NoEncap;
        noencap.dst_in_pod_subnet = true;
        let routed =
            TerminalState { table: "Output".into(), reg1: 2, packet_dst: ip("10.10.1.7"), ..Default::default() };
        assert_eq!(observations(&noencap, &routed, &NoPolicies)[1].action, Action::Forwarded);
    }
}
