//! Antrea's register, ct_mark and ct_label layout (`pkg/agent/openflow/fields.go`,
//! antrea-traceflow.md §4.2), as data: a simulator or a viewer names the marks a value carries.

use crate::ovs::Field;
use serde::Serialize;

/// One named bit range of a register or mark.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RegField {
    /// Antrea's name.
    pub name: &'static str,
    /// Which field holds it.
    #[serde(skip)]
    pub field: Field,
    /// First bit.
    pub start: u16,
    /// Width in bits.
    pub len: u16,
    /// Known values and their meaning.
    #[serde(skip)]
    pub values: &'static [(u32, &'static str)],
}

macro_rules! rf {
    ($name:expr, $f:expr, $start:expr, $len:expr) => {
        RegField { name: $name, field: $f, start: $start, len: $len, values: &[] }
    };
    ($name:expr, $f:expr, $start:expr, $len:expr, $vals:expr) => {
        RegField { name: $name, field: $f, start: $start, len: $len, values: $vals }
    };
}

/// The layout.
pub static LAYOUT: &[RegField] = &[
    rf!(
        "PktSourceField",
        Field::Reg(0),
        0,
        4,
        &[
            (1, "FromTunnel"),
            (2, "FromGateway"),
            (3, "FromPod"),
            (4, "FromUplink"),
            (5, "FromBridge"),
            (6, "FromTCReturn"),
            (7, "FromL7NPReturn")
        ]
    ),
    rf!(
        "PktDestinationField",
        Field::Reg(0),
        4,
        4,
        &[(1, "ToTunnel"), (2, "ToGateway"), (3, "ToLocal"), (4, "ToUplink"), (5, "ToBridge")]
    ),
    rf!("RewriteMACRegMark", Field::Reg(0), 9, 1, &[(1, "RewriteMAC")]),
    rf!("APDenyRegMark", Field::Reg(0), 10, 1, &[(1, "APDeny")]),
    rf!("APDispositionField", Field::Reg(0), 11, 2, &[(0, "Allow"), (1, "Drop"), (3, "Pass")]),
    rf!("GeneratedRejectPacketOutRegMark", Field::Reg(0), 13, 1, &[(1, "GeneratedRejectPacketOut")]),
    rf!("SvcNoEpRegMark", Field::Reg(0), 14, 1, &[(1, "SvcNoEp")]),
    rf!("RemoteSNATRegMark", Field::Reg(0), 19, 1, &[(1, "RemoteSNAT")]),
    rf!("L7NPRedirectRegMark", Field::Reg(0), 20, 1, &[(1, "L7NPRedirect")]),
    rf!("OutputRegField", Field::Reg(0), 21, 2, &[(1, "OutputToOFPort"), (2, "OutputToController")]),
    rf!("CtStateRestoredRegMark", Field::Reg(0), 23, 1, &[(1, "CtStateRestored")]),
    rf!("PacketInOperationField", Field::Reg(0), 25, 8),
    rf!("TargetOFPortField", Field::Reg(1), 0, 32),
    rf!("SwapField", Field::Reg(2), 0, 32),
    rf!("EndpointIPField/APConjIDField", Field::Reg(3), 0, 32),
    rf!("EndpointPortField", Field::Reg(4), 0, 16),
    rf!("ServiceEPStateField", Field::Reg(4), 16, 3, &[(1, "EpToSelect"), (2, "EpSelected"), (3, "EpToLearn")]),
    rf!("ToNodePortAddressRegMark", Field::Reg(4), 19, 1, &[(1, "ToNodePortAddress")]),
    rf!("AntreaFlexibleIPAMRegMark", Field::Reg(4), 20, 1, &[(1, "AntreaFlexibleIPAM")]),
    rf!("ToExternalAddressRegMark", Field::Reg(4), 21, 1, &[(1, "ToExternalAddress")]),
    rf!(
        "TrafficControlActionField",
        Field::Reg(4),
        22,
        2,
        &[(1, "TrafficControlMirror"), (2, "TrafficControlRedirect")]
    ),
    rf!("NestedServiceRegMark", Field::Reg(4), 24, 1, &[(1, "NestedService")]),
    rf!("DSRServiceRegMark", Field::Reg(4), 25, 1, &[(1, "DSRService")]),
    rf!("RemoteEndpointRegMark", Field::Reg(4), 26, 1, &[(1, "RemoteEndpoint")]),
    rf!("FromExternalRegMark", Field::Reg(4), 27, 1, &[(1, "FromExternal")]),
    rf!("FromLocalRegMark", Field::Reg(4), 28, 1, &[(1, "FromLocal")]),
    rf!("TFEgressConjIDField", Field::Reg(5), 0, 32),
    rf!("TFIngressConjIDField", Field::Reg(6), 0, 32),
    rf!("ServiceGroupIDField", Field::Reg(7), 0, 32),
    rf!("VLANIDField", Field::Reg(8), 0, 12),
    rf!("CtZoneTypeField", Field::Reg(8), 12, 4, &[(1, "IPv4"), (3, "IPv6")]),
    rf!("TrafficControlTargetOFPortField", Field::Reg(9), 0, 32),
    rf!("EndpointIP6Field", Field::Xxreg(3), 0, 128),
    rf!("ConnSourceCTMarkField", Field::CtMark, 0, 4, &[(2, "FromGateway"), (5, "FromBridge")]),
    rf!("ServiceCTMark", Field::CtMark, 4, 1, &[(1, "Service")]),
    rf!("ConnSNATCTMark", Field::CtMark, 5, 1, &[(1, "ConnSNAT")]),
    rf!("HairpinCTMark", Field::CtMark, 6, 1, &[(1, "Hairpin")]),
    rf!("L7NPRedirectCTMark", Field::CtMark, 7, 1, &[(1, "L7NPRedirect")]),
    rf!("IngressRuleCTLabel", Field::CtLabel, 0, 32),
    rf!("EgressRuleCTLabel", Field::CtLabel, 32, 32),
    rf!("L7NPRuleVlanIDCTLabel", Field::CtLabel, 64, 12),
];

/// Conntrack zones Antrea uses.
pub const CT_ZONE: u16 = 65520;
/// SNAT conntrack zone.
pub const SNAT_CT_ZONE: u16 = 65521;
/// IPv6 conntrack zone.
pub const CT_ZONE_V6: u16 = 65510;
/// IPv6 SNAT conntrack zone.
pub const SNAT_CT_ZONE_V6: u16 = 65511;
/// The global virtual MAC of tunnelled/routed traffic.
pub const GLOBAL_VIRTUAL_MAC: &str = "aa:bb:cc:dd:ee:ff";

/// Names the marks that a value/mask on `field` sets or matches: `PktSourceField=FromPod`,
/// `RewriteMACRegMark`, `TargetOFPortField=0x25`. Bits not covered by the layout are skipped.
pub fn describe(field: Field, value: u128, mask: u128) -> Vec<String> {
    let mut out = Vec::new();
    for rf in LAYOUT.iter().filter(|r| r.field == field) {
        let m = if rf.len >= 128 { u128::MAX } else { ((1u128 << rf.len) - 1) << rf.start };
        if mask & m != m {
            continue;
        }
        let v = ((value & m) >> rf.start) as u32;
        let label = rf.values.iter().find(|(x, _)| *x == v).map(|(_, n)| *n);
        out.push(match label {
            Some(l) if rf.len == 1 && v == 1 => l.to_string(),
            Some(l) => format!("{}={l}", rf.name),
            None if rf.values.is_empty() => format!("{}={v:#x}", rf.name),
            None => format!("{}={v:#x}", rf.name),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_marks() {
        assert_eq!(describe(Field::Reg(0), 0x3, 0xf), vec!["PktSourceField=FromPod"]);
        assert_eq!(describe(Field::Reg(0), 0x200, 0x200), vec!["RewriteMAC"]);
        assert_eq!(describe(Field::Reg(0), 0x200000, 0x600000), vec!["OutputRegField=OutputToOFPort"]);
        assert_eq!(describe(Field::Reg(1), 0x25, 0xffff_ffff), vec!["TargetOFPortField=0x25"]);
        assert_eq!(describe(Field::CtMark, 0x10, 0x10), vec!["Service"]);
    }
}
