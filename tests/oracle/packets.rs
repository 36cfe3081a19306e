//! Generates trace packets (in `ovs-ofctl` flow syntax, as `ofproto/trace` and `hoptrace trace`
//! both take them) for a pipeline, drawing header values from the constants its own flows match
//! on (addresses, prefixes, ports, MACs) mixed with random ones, so that most flows get hit and
//! the misses are exercised too.

use hoptrace::probe::rng::ProbeRng;
use std::net::Ipv4Addr;

/// Value pools taken from a flow file.
#[derive(Clone, Debug, Default)]
pub struct Generator {
    ips: Vec<(u32, u8)>,
    macs: Vec<String>,
    ports: Vec<u16>,
    ofports: Vec<u32>,
    tunnel_ofport: Option<u32>,
}

impl Generator {
    /// Pools from the flow text and the bridge's OpenFlow ports (`tunnel` = the tunnel port).
    pub fn new(flow_text: &str, ofports: &[u32], tunnel: Option<u32>) -> Generator {
        let mut g = Generator { ofports: ofports.to_vec(), tunnel_ofport: tunnel, ..Generator::default() };
        for token in flow_text.split([',', ' ', '(', ')', '>']) {
            let Some((k, v)) = token.split_once(['=', ':']) else { continue };
            let k = k.trim_start_matches("set_field");
            if v.contains(':') && v.len() == 17 {
                let m = v.split('/').next().unwrap_or(v).to_string();
                if !g.macs.contains(&m) {
                    g.macs.push(m);
                }
                continue;
            }
            let v = v.split("->").next().unwrap_or(v);
            if let Some(ip) = parse_prefix(v) {
                if !g.ips.contains(&ip) {
                    g.ips.push(ip);
                }
                continue;
            }
            if matches!(k, "tp_dst" | "tp_src" | "tcp_dst" | "udp_dst" | "tcp_src" | "udp_src") {
                if let Ok(p) = v.parse::<u16>() {
                    if !g.ports.contains(&p) {
                        g.ports.push(p);
                    }
                }
            }
        }
        g
    }

    fn ip(&self, rng: &mut ProbeRng) -> Ipv4Addr {
        if self.ips.is_empty() || rng.range_u32(0, 9) == 0 {
            return Ipv4Addr::from(rng.next_u64() as u32);
        }
        let (net, len) = self.ips[rng.range_u32(0, self.ips.len() as u32 - 1) as usize];
        let host = if len >= 32 { 0 } else { (rng.next_u64() as u32) & (u32::MAX >> len) };
        Ipv4Addr::from(net | host)
    }

    fn mac(&self, rng: &mut ProbeRng) -> String {
        if self.macs.is_empty() || rng.range_u32(0, 9) == 0 {
            let b = rng.next_u64().to_be_bytes();
            return format!("02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4]);
        }
        self.macs[rng.range_u32(0, self.macs.len() as u32 - 1) as usize].clone()
    }

    fn l4port(&self, rng: &mut ProbeRng) -> u16 {
        if self.ports.is_empty() || rng.range_u32(0, 3) == 0 {
            return rng.range_u32(1, 65535) as u16;
        }
        self.ports[rng.range_u32(0, self.ports.len() as u32 - 1) as usize]
    }

    /// One packet, e.g. `in_port=36,tcp,dl_src=..,dl_dst=..,nw_src=..,nw_dst=..,nw_tos=28,nw_ttl=64,tcp_src=..,tcp_dst=80`.
    pub fn packet(&self, rng: &mut ProbeRng) -> String {
        let in_port = if self.ofports.is_empty() {
            1
        } else {
            self.ofports[rng.range_u32(0, self.ofports.len() as u32 - 1) as usize]
        };
        let mut s = format!("in_port={in_port}");
        if Some(in_port) == self.tunnel_ofport {
            s += &format!(",tun_id=0,tun_src={},tun_dst={}", self.ip(rng), self.ip(rng));
        }
        let kind = rng.range_u32(0, 19);
        let (dl_src, dl_dst) = (self.mac(rng), self.mac(rng));
        if kind == 0 {
            let op = rng.range_u32(1, 2);
            return format!(
                "{s},arp,dl_src={dl_src},dl_dst={dl_dst},arp_op={op},arp_spa={},arp_tpa={},arp_sha={},arp_tha={}",
                self.ip(rng),
                self.ip(rng),
                self.mac(rng),
                self.mac(rng)
            );
        }
        let proto = match kind {
            1..=9 => "tcp",
            10..=14 => "udp",
            15..=17 => "icmp",
            _ => "ip",
        };
        let tos = if rng.range_u32(0, 1) == 0 { 0 } else { 28 };
        let ttl = [64, 64, 64, 1, 2][rng.range_u32(0, 4) as usize];
        s += &format!(
            ",{proto},dl_src={dl_src},dl_dst={dl_dst},nw_src={},nw_dst={},nw_tos={tos},nw_ttl={ttl}",
            self.ip(rng),
            self.ip(rng)
        );
        match proto {
            "tcp" | "udp" => s += &format!(",{proto}_src={},{proto}_dst={}", self.l4port(rng), self.l4port(rng)),
            "icmp" => s += &format!(",icmp_type={},icmp_code=0", [8, 0, 3][rng.range_u32(0, 2) as usize]),
            _ => s += &format!(",nw_proto={}", [132, 47, 89][rng.range_u32(0, 2) as usize]),
        }
        s
    }
}

/// `a.b.c.d` or `a.b.c.d/len` into (network, len).
fn parse_prefix(v: &str) -> Option<(u32, u8)> {
    let (a, len) = match v.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok().filter(|l| *l <= 32)?),
        None => (v, 32),
    };
    let ip: Ipv4Addr = a.parse().ok()?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((u32::from(ip) & mask, len))
}
