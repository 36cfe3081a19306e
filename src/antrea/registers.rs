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

/// reg0: the packet's marks (source, destination, MAC rewrite, deny, RemoteSNAT, output).
pub const MARKS_REGISTER: Field = Field::Reg(0);
/// reg0 bits 0–3: where the packet came from.
pub const PKT_SOURCE: RegField = rf!(
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
);
/// reg0 bit 19: the probe needs Egress SNAT on a remote Egress node.
pub const REMOTE_SNAT: RegField = rf!("RemoteSNATRegMark", Field::Reg(0), 19, 1, &[(1, "RemoteSNAT")]);
/// reg1: the output port L2ForwardingCalc chose (also an ingress rule's destination Pod).
pub const TARGET_OFPORT: RegField = rf!("TargetOFPortField", Field::Reg(1), 0, 32);
/// reg3: the chosen Service endpoint's IPv4, reused at the Metric tables for the conj id of an
/// Antrea-native deny rule.
pub const AP_CONJ_ID: RegField = rf!("EndpointIPField/APConjIDField", Field::Reg(3), 0, 32);
/// reg4 bits 0–15: the chosen Service endpoint's port.
pub const ENDPOINT_PORT: RegField = rf!("EndpointPortField", Field::Reg(4), 0, 16);
/// reg4 bit 19: a NodePort destination.
pub const TO_NODE_PORT_ADDRESS: RegField =
    rf!("ToNodePortAddressRegMark", Field::Reg(4), 19, 1, &[(1, "ToNodePortAddress")]);
/// reg4 bit 26: the Service endpoint runs on another node.
pub const REMOTE_ENDPOINT: RegField = rf!("RemoteEndpointRegMark", Field::Reg(4), 26, 1, &[(1, "RemoteEndpoint")]);
/// reg5: conj id of the egress allow/pass rule the probe hit (loaded for Traceflow).
pub const TF_EGRESS_CONJ_ID: RegField = rf!("TFEgressConjIDField", Field::Reg(5), 0, 32);
/// reg6: conj id of the ingress allow/pass rule the probe hit.
pub const TF_INGRESS_CONJ_ID: RegField = rf!("TFIngressConjIDField", Field::Reg(6), 0, 32);
/// xxreg3: the chosen Service endpoint's IPv6.
pub const ENDPOINT_IP6: RegField = rf!("EndpointIP6Field", Field::Xxreg(3), 0, 128);

impl RegField {
    /// The mask of the range within its field.
    pub fn mask(&self) -> u128 {
        if self.len >= 128 {
            u128::MAX
        } else {
            ((1u128 << self.len) - 1) << self.start
        }
    }

    /// The range's value in a field value.
    pub fn read(&self, field_value: u128) -> u128 {
        (field_value & self.mask()) >> self.start
    }

    /// Whether a write of `mask` to `field` covers the whole range.
    pub fn covered_by(&self, field: Field, mask: u128) -> bool {
        field == self.field && mask & self.mask() == self.mask()
    }
}

/// The layout.
pub static LAYOUT: &[RegField] = &[
    PKT_SOURCE,
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
    REMOTE_SNAT,
    rf!("L7NPRedirectRegMark", Field::Reg(0), 20, 1, &[(1, "L7NPRedirect")]),
    rf!("OutputRegField", Field::Reg(0), 21, 2, &[(1, "OutputToOFPort"), (2, "OutputToController")]),
    rf!("CtStateRestoredRegMark", Field::Reg(0), 23, 1, &[(1, "CtStateRestored")]),
    rf!("PacketInOperationField", Field::Reg(0), 25, 8),
    TARGET_OFPORT,
    rf!("SwapField", Field::Reg(2), 0, 32),
    AP_CONJ_ID,
    ENDPOINT_PORT,
    rf!("ServiceEPStateField", Field::Reg(4), 16, 3, &[(1, "EpToSelect"), (2, "EpSelected"), (3, "EpToLearn")]),
    TO_NODE_PORT_ADDRESS,
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
    REMOTE_ENDPOINT,
    rf!("FromExternalRegMark", Field::Reg(4), 27, 1, &[(1, "FromExternal")]),
    rf!("FromLocalRegMark", Field::Reg(4), 28, 1, &[(1, "FromLocal")]),
    TF_EGRESS_CONJ_ID,
    TF_INGRESS_CONJ_ID,
    rf!("ServiceGroupIDField", Field::Reg(7), 0, 32),
    rf!("VLANIDField", Field::Reg(8), 0, 12),
    rf!("CtZoneTypeField", Field::Reg(8), 12, 4, &[(1, "IPv4"), (3, "IPv6")]),
    rf!("TrafficControlTargetOFPortField", Field::Reg(9), 0, 32),
    ENDPOINT_IP6,
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
        let m = rf.mask();
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
