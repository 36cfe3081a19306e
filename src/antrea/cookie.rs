//! Antrea's flow cookie layout (`pkg/agent/openflow/cookie/allocator.go`): bits 63–48 round
//! number, 47–40 category, 31–0 object id.

use serde::Serialize;

/// What installed a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CookieCategory {
    /// Default flows.
    Default,
    /// Pod connectivity.
    PodConnectivity,
    /// NetworkPolicy.
    NetworkPolicy,
    /// Service.
    Service,
    /// Egress.
    Egress,
    /// Multicast.
    Multicast,
    /// Multicluster.
    Multicluster,
    /// Traceflow.
    Traceflow,
    /// ExternalNode connectivity.
    ExternalNodeConnectivity,
    /// A category number Antrea does not define.
    Unknown(u8),
}

/// A decoded cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cookie {
    /// Agent round (incremented at each agent restart).
    pub round: u16,
    /// Category.
    pub category: CookieCategory,
    /// Object id (e.g. the NetworkPolicy rule or Service).
    pub object_id: u32,
}

impl Cookie {
    /// Decodes a cookie value.
    pub fn decode(c: u64) -> Cookie {
        let cat = ((c >> 40) & 0xff) as u8;
        let category = match cat {
            0 => CookieCategory::Default,
            1 => CookieCategory::PodConnectivity,
            2 => CookieCategory::NetworkPolicy,
            3 => CookieCategory::Service,
            4 => CookieCategory::Egress,
            5 => CookieCategory::Multicast,
            6 => CookieCategory::Multicluster,
            7 => CookieCategory::Traceflow,
            8 => CookieCategory::ExternalNodeConnectivity,
            n => CookieCategory::Unknown(n),
        };
        Cookie { round: (c >> 48) as u16, category, object_id: c as u32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode() {
        let c = Cookie::decode(0x1070000000000);
        assert_eq!(c.round, 1);
        assert_eq!(c.category, CookieCategory::Traceflow);
        let c = Cookie::decode(0x203000000000a);
        assert_eq!((c.round, c.category, c.object_id), (2, CookieCategory::Service, 10));
    }
}
