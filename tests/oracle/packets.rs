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
    /// Match parts of the flows (for flow-directed packets).
    matches: Vec<String>,
    /// Port names and numbers.
    names: Vec<(String, u32)>,
    /// Conjunction ids and the match of each of their clause flows.
    conj_ids: Vec<String>,
    conj_clauses: Vec<(String, String)>,
}

impl Generator {
    /// Pools from the flow text and the bridge's OpenFlow ports (`tunnel` = the tunnel port).
    pub fn new(flow_text: &str, ports: &[(String, u32)], tunnel: Option<u32>) -> Generator {
        let mut g = Generator {
            ofports: ports.iter().map(|(_, p)| *p).collect(),
            names: ports.to_vec(),
            tunnel_ofport: tunnel,
            ..Generator::default()
        };
        for line in flow_text.lines() {
            if let Some((m, a)) = line.split_once(" actions=") {
                let m = m.rsplit(' ').next().unwrap_or(m).to_string();
                if let Some(rest) = a.strip_prefix("conjunction(") {
                    let id = rest.split(',').next().unwrap_or_default().to_string();
                    if !g.conj_ids.contains(&id) {
                        g.conj_ids.push(id.clone());
                    }
                    g.conj_clauses.push((id, m.clone()));
                }
                g.matches.push(m);
            }
        }
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

    /// 40% of the packets are random draws from the pools ([`Generator::random_packet`]); the
    /// rest satisfy the header matches of a "source" flow (one matching `in_port` with an address,
    /// like SpoofGuard) combined with either one random flow or every clause of one conjunction,
    /// so that deep flows and conjunctions get hit too.
    pub fn packet(&self, rng: &mut ProbeRng) -> String {
        let mode = rng.range_u32(0, 9);
        if self.matches.is_empty() || mode < 4 {
            return self.random_packet(rng);
        }
        let pick = |rng: &mut ProbeRng, v: &[&String]| -> Option<String> {
            (!v.is_empty()).then(|| v[rng.range_u32(0, v.len() as u32 - 1) as usize].clone())
        };
        // Mostly IP sources (SpoofGuard-like), sometimes ARP ones (ARPSpoofGuard-like).
        let key = if rng.range_u32(0, 4) == 0 { "arp_spa=" } else { "nw_src=" };
        let sources: Vec<&String> = self.matches.iter().filter(|m| m.contains("in_port=") && m.contains(key)).collect();
        let mut parts: Vec<String> = pick(rng, &sources).into_iter().collect();
        if mode < 7 {
            let all: Vec<&String> = self.matches.iter().collect();
            parts.extend(pick(rng, &all));
        } else {
            let ids: Vec<&String> = self.conj_ids.iter().collect();
            if let Some(id) = pick(rng, &ids) {
                parts.extend(self.conj_clauses.iter().filter(|(c, _)| *c == id).map(|(_, m)| m.clone()));
            }
        }
        self.satisfying(rng, &parts)
    }

    /// A packet meeting the header matches of all `parts` (later ones win on conflicts).
    fn satisfying(&self, rng: &mut ProbeRng, parts: &[String]) -> String {
        let mut proto: Option<String> = None;
        let mut set: Vec<(String, String)> = Vec::new();
        for m in parts {
            for item in m.split(',') {
                match item.split_once('=') {
                    None if matches!(item, "ip" | "tcp" | "udp" | "icmp" | "arp")
                        && proto.as_deref().is_none_or(|p| p == "ip") =>
                    {
                        proto = Some(item.to_string());
                    }
                    Some(("in_port", v)) => {
                        let v = v.trim_matches('"');
                        if let Some((_, n)) = self.names.iter().find(|(name, _)| name == v) {
                            set.push(("in_port".into(), n.to_string()));
                        }
                    }
                    Some((k @ ("dl_src" | "dl_dst" | "arp_sha" | "arp_tha" | "arp_op"), v)) if !v.contains('/') => {
                        set.push((k.into(), v.into()))
                    }
                    Some((k @ ("nw_src" | "nw_dst" | "arp_spa" | "arp_tpa"), v)) => {
                        if let Some((net, len)) = parse_prefix(v) {
                            let host = if len >= 32 { 0 } else { (rng.next_u64() as u32) & (u32::MAX >> len) };
                            set.push((k.into(), Ipv4Addr::from(net | host).to_string()));
                        }
                    }
                    Some((k @ ("tp_dst" | "tp_src"), v)) if !v.contains('/') => set.push((k.into(), v.into())),
                    _ => {}
                }
            }
        }
        let base = loop {
            let b = self.random_packet(rng);
            let ok = match proto.as_deref() {
                Some("tcp") => b.contains(",tcp,"),
                Some("udp") => b.contains(",udp,"),
                Some("icmp") => b.contains(",icmp,"),
                Some("arp") => b.contains(",arp,"),
                Some(_) => !b.contains(",arp,"),
                None => true,
            };
            if ok {
                break b;
            }
        };
        let l4 = if base.contains(",udp,") { "udp" } else { "tcp" };
        let mut items: Vec<String> = base.split(',').map(str::to_string).collect();
        for (k, v) in set {
            let key = match k.as_str() {
                "tp_dst" => format!("{l4}_dst"),
                "tp_src" => format!("{l4}_src"),
                _ => k,
            };
            if let Some(it) = items.iter_mut().find(|it| it.starts_with(&format!("{key}="))) {
                *it = format!("{key}={v}");
            }
        }
        items.join(",")
    }

    /// One packet drawn from the pools, e.g. `in_port=36,tcp,dl_src=..,dl_dst=..,nw_src=..,nw_dst=..,nw_tos=28,nw_ttl=64,tcp_src=..,tcp_dst=80`.
    pub fn random_packet(&self, rng: &mut ProbeRng) -> String {
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
