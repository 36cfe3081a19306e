//! Property: printing a flow and parsing the text gives the same value.

use hoptrace::ovs::action::{Controller, Ct, CtZone, Nat, NatKind, SubField, TableRef};
use hoptrace::ovs::matching::FieldMatch;
use hoptrace::ovs::{Action, Field, Flow, Match, PortRef, Proto, Value};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

fn table() -> impl Strategy<Value = TableRef> {
    prop_oneof![
        any::<u8>().prop_map(TableRef::Id),
        prop::sample::select(vec!["Classifier", "L3Forwarding", "EgressRule", "Output", "ConntrackState"])
            .prop_map(|s| TableRef::Name(s.to_string())),
    ]
}

fn port() -> impl Strategy<Value = PortRef> {
    prop_oneof![
        (1u32..65000).prop_map(PortRef::Number),
        Just(PortRef::Local),
        prop::sample::select(vec!["antrea-gw0", "antrea-tun0", "client-6-3353ef", "web-7975-274540"])
            .prop_map(|s| PortRef::Name(s.to_string())),
    ]
}

/// A value/mask for `field`: exact or masked (when the field allows it).
fn bits_value(field: Field) -> BoxedStrategy<Value> {
    let full = field.full_mask();
    let maskable = field.info().maskable;
    (any::<u128>(), any::<u128>(), any::<bool>(), 0u32..=u32::from(field.bits().min(128)))
        .prop_map(move |(v, m, exact, prefix)| {
            let m = if exact || !maskable {
                full
            } else if matches!(field, Field::IpSrc | Field::IpDst | Field::TunDst | Field::Ipv6Src | Field::CtNwDst)
                && prefix % 2 == 0
            {
                let bits = u32::from(field.bits());
                if prefix == 0 {
                    0
                } else {
                    (full >> (bits - prefix)) << (bits - prefix)
                }
            } else {
                m & full
            };
            Value::masked(v, m)
        })
        .boxed()
}

fn flags_value(field: Field, known: u128) -> BoxedStrategy<Value> {
    (any::<u128>(), 1u128..=known)
        .prop_map(move |(v, m)| {
            let m = m & known;
            let m = if m == 0 { 1 } else { m };
            let _ = field;
            Value::masked(v, m)
        })
        .boxed()
}

fn field_match(proto: Option<Proto>) -> BoxedStrategy<FieldMatch> {
    let mut fields = vec![
        Field::Reg(0),
        Field::Reg(3),
        Field::Reg(15),
        Field::Xreg(2),
        Field::Xxreg(3),
        Field::Metadata,
        Field::PktMark,
        Field::CtMark,
        Field::CtLabel,
        Field::CtZone,
        Field::ConjId,
        Field::TunId,
        Field::TunSrc,
        Field::TunDst,
        Field::EthSrc,
        Field::EthDst,
        Field::VlanTci,
        Field::DpHash,
    ];
    match proto {
        Some(Proto::Ip) => fields.extend([Field::IpSrc, Field::IpDst, Field::NwTtl, Field::IpDscp, Field::NwEcn]),
        Some(Proto::Tcp) => fields.extend([Field::IpSrc, Field::TcpSrc, Field::TcpDst, Field::NwTos]),
        Some(Proto::Udp) => fields.extend([Field::IpDst, Field::UdpSrc, Field::UdpDst]),
        Some(Proto::Tcp6) => fields.extend([Field::Ipv6Src, Field::TcpDst]),
        Some(Proto::Arp) => fields.extend([Field::ArpOp, Field::ArpSpa, Field::ArpTpa, Field::ArpSha, Field::ArpTha]),
        _ => {}
    }
    let special = proptest::prop_oneof![
        port().prop_map(|p| FieldMatch { field: Field::InPort, value: Value::Port(p) }),
        flags_value(Field::CtState, 0xff).prop_map(|v| FieldMatch { field: Field::CtState, value: v }),
    ];
    let with_ip = proto.is_some_and(|p| p.eth_type() == 0x800 && p != Proto::Arp);
    let tcp = proto == Some(Proto::Tcp);
    let plain = prop::sample::select(fields)
        .prop_flat_map(|f| bits_value(f).prop_map(move |v| FieldMatch { field: f, value: v }));
    let frag = prop::sample::select(vec![(0u128, 1u128), (1, 1), (1, 3), (3, 3), (0, 2)])
        .prop_map(|(v, m)| FieldMatch { field: Field::NwFrag, value: Value::masked(v, m) });
    let flags = flags_value(Field::TcpFlags, 0x1ff).prop_map(|v| FieldMatch { field: Field::TcpFlags, value: v });
    match (with_ip, tcp) {
        (_, true) => prop_oneof![4 => plain, 1 => special, 1 => frag, 1 => flags].boxed(),
        (true, false) => prop_oneof![4 => plain, 1 => special, 1 => frag].boxed(),
        _ => prop_oneof![4 => plain, 1 => special].boxed(),
    }
}

fn matches() -> impl Strategy<Value = Match> {
    prop::option::of(prop::sample::select(vec![
        Proto::Ip,
        Proto::Tcp,
        Proto::Udp,
        Proto::Tcp6,
        Proto::Arp,
        Proto::Ipv6,
    ]))
    .prop_flat_map(|proto| {
        prop::collection::vec(field_match(proto), 0..6).prop_map(move |fs| {
            let mut m = Match { proto, ..Match::default() };
            for f in fs {
                if !m.fields.iter().any(|x| x.field == f.field) {
                    m.fields.push(f);
                }
            }
            m
        })
    })
}

fn subfield() -> impl Strategy<Value = SubField> {
    (
        prop::sample::select(vec![
            Field::Reg(0),
            Field::Reg(1),
            Field::CtMark,
            Field::CtLabel,
            Field::Xxreg(3),
            Field::PktMark,
        ]),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(|(f, a, b)| {
            let bits = f.bits();
            let start = a % bits;
            let len = 1 + b % (bits - start);
            SubField { field: f, start, len }
        })
}

fn leaf_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        table().prop_map(|table| Action::GotoTable { table }),
        (prop::option::of(port()), prop::option::of(table()), any::<bool>()).prop_filter_map("resubmit needs port or table", |(port, table, ct)| {
            (port.is_some() || table.is_some()).then_some(Action::Resubmit { port, table, ct })
        }),
        (prop::sample::select(vec![Field::Reg(0), Field::Reg(4), Field::CtMark, Field::PktMark, Field::EthSrc, Field::TunDst, Field::CtLabel]))
            .prop_flat_map(|f| bits_value_any_mask(f).prop_map(move |value| Action::SetField { field: f, value })),
        (subfield(), any::<u128>()).prop_map(|(dst, v)| Action::Load { value: (v & (dst.mask() >> dst.start)).into(), dst }),
        subfield().prop_flat_map(|src| subfield().prop_filter_map("same length", move |dst| {
            let len = src.len.min(dst.len);
            Some(Action::Move { src: SubField { len, ..src }, dst: SubField { len, ..dst } })
        })),
        (any::<u32>(), 2u8..8).prop_flat_map(|(id, n)| (1..=n).prop_map(move |k| Action::Conjunction { id, clause: k, n_clauses: n })),
        any::<u32>().prop_map(|id| Action::Group { id }),
        any::<u32>().prop_map(|id| Action::Meter { id }),
        port().prop_map(|port| Action::Output { port, max_len: None }),
        subfield().prop_map(|src| Action::OutputField { src, max_len: None }),
        Just(Action::Drop),
        Just(Action::Output { port: PortRef::InPort, max_len: None }),
        Just(Action::Output { port: PortRef::Normal, max_len: None }),
        prop::collection::vec(any::<u16>(), 0..3).prop_map(|ids| Action::DecTtl { ids }),
        (any::<u16>(), any::<u16>()).prop_map(|(id, m)| Action::Controller(Box::new(Controller {
            paren: true,
            reason: Some("no_match".into()),
            id: Some(id),
            max_len: Some(m),
            userdata: Some("01.01".into()),
            ..Controller::default()
        }))),
        Just(Action::Learn { args: "table=SessionAffinity,hard_timeout=300,priority=200,delete_learned,cookie=0x203000000000a,eth_type=0x800,nw_proto=6,NXM_OF_TCP_DST[],NXM_OF_IP_DST[],NXM_OF_IP_SRC[],load:NXM_NX_REG3[]->NXM_NX_REG3[],load:NXM_NX_REG4[0..15]->NXM_NX_REG4[0..15],load:0x2->NXM_NX_REG4[16..18],load:0x1->NXM_NX_REG0[9]".into() }),
    ]
}

fn bits_value_any_mask(field: Field) -> BoxedStrategy<Value> {
    let full = field.full_mask();
    (any::<u128>(), any::<u128>(), any::<bool>())
        .prop_map(move |(v, m, exact)| {
            let m = if exact { full } else { m & full };
            Value::masked(v, m)
        })
        .boxed()
}

fn ct() -> impl Strategy<Value = Action> {
    (
        any::<bool>(),
        prop::option::of(any::<u16>()),
        prop::option::of(table()),
        prop::option::of((any::<bool>(), any::<u32>(), 0u32..4, prop::option::of((any::<u16>(), 0u16..100)))),
        prop::collection::vec(leaf_action(), 0..2),
    )
        .prop_map(|(commit, zone, table, nat, exec)| {
            let nat = nat.map(|(src, a, span, ports)| Nat {
                kind: Some(if src { NatKind::Src } else { NatKind::Dst }),
                addrs: Some((IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(a.saturating_add(span))))),
                ports: ports.map(|(p, d)| (p, p.saturating_add(d))),
                flags: vec![],
            });
            Action::Ct(Box::new(Ct { commit, zone: zone.map(CtZone::Imm), table, nat, exec, ..Ct::default() }))
        })
}

fn flows() -> impl Strategy<Value = Flow> {
    (
        prop::option::of(any::<u64>()),
        prop::option::of(table()),
        prop::option::of(any::<u16>()),
        prop::option::of((any::<u32>(), any::<u64>(), any::<u64>(), any::<u16>())),
        matches(),
        prop::collection::vec(prop_oneof![6 => leaf_action(), 1 => ct()], 0..6),
    )
        .prop_map(|(cookie, table, priority, stats, matches, actions)| {
            let mut f = Flow { cookie, table, priority, matches, actions, ..Flow::default() };
            if let Some((d, p, b, age)) = stats {
                f.duration_ms = Some(u64::from(d));
                f.n_packets = Some(p);
                f.n_bytes = Some(b);
                f.idle_age = Some(u32::from(age));
            }
            f
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_then_parse_is_identity(flow in flows()) {
        let text = flow.to_string();
        let back = Flow::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&back, &flow, "{}", text);
        let fm = flow.flow_mod().to_string();
        let back = Flow::parse(&fm).map_err(|e| TestCaseError::fail(format!("{fm}: {e}")))?;
        prop_assert_eq!(back.matches, flow.matches);
        prop_assert_eq!(back.actions, flow.actions);
    }
}

/// Corpus-like lines with random edits: parsers return errors, never panic.
fn mutated_line() -> impl Strategy<Value = String> {
    let seeds = vec![
        "cookie=0x1010000000000, duration=1.605s, table=PipelineRootClassifier, n_packets=2, n_bytes=84, idle_age=1, priority=200,arp actions=goto_table:ARPSpoofGuard",
        "table=EndpointDNAT, priority=200,tcp,reg3=0xa0a0018,reg4=0x20050/0x7ffff actions=ct(commit,table=AntreaPolicyEgressRule,zone=65520,nat(dst=10.10.0.24:80),exec(set_field:0x10/0x10->ct_mark))",
        "table=Output, priority=212,ct_mark=0x80/0x80,reg0=0x200000/0x600000 actions=push_vlan:0x8100,move:NXM_NX_CT_LABEL[64..75]->OXM_OF_VLAN_VID[],output:\"antrea-l7-tap0\"",
        "ipv6,actions=ct(commit,nat(src=[fe80::20c:29ff:fe88:1]-[fe80::20c:29ff:fe88:a18b]:255-4096,random))",
        "group_id=10,type=select,bucket=bucket_id:0,weight:100,actions=set_field:0xa0a0018->reg3,resubmit(,EndpointDNAT)",
        " 1(antrea-tun0): addr:be:8b:5a:aa:10:11",
    ];
    (prop::sample::select(seeds), prop::collection::vec((any::<prop::sample::Index>(), any::<char>(), 0u8..3), 0..6))
        .prop_map(|(seed, edits)| {
            let mut s: Vec<char> = seed.chars().collect();
            for (i, c, op) in edits {
                if s.is_empty() {
                    break;
                }
                let at = i.index(s.len());
                match op {
                    0 => s[at] = c,
                    1 => {
                        s.remove(at);
                    }
                    _ => s.insert(at, c),
                }
            }
            s.into_iter().collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn parsers_never_panic(line in mutated_line()) {
        let _ = Flow::parse(&line);
        let _ = hoptrace::ovs::Group::parse(&line);
        let _ = hoptrace::ovs::PortTable::parse(&line);
        if let Ok(f) = Flow::parse(&line) {
            // Whatever parses prints to something that parses back to the same value.
            let again = Flow::parse(&f.to_string());
            prop_assert_eq!(again.as_ref().ok(), Some(&f), "{}", f);
        }
    }
}
