//! Crafting cost: resolving a request (names from a cluster inventory, defaults, random fields)
//! and building the frame. Baseline: the same frame built by etherparse's PacketBuilder, which
//! does no resolution and cannot set every field hoptrace sets (IP ID, flags, tag via header).

use criterion::{criterion_group, criterion_main, Criterion};
use hoptrace::bundle::ClusterInfo;
use hoptrace::probe::flow::parse_flow;
use hoptrace::probe::resolve::{resolve, Names, ProbeRequest};
use hoptrace::probe::rng::ProbeRng;
use hoptrace::probe::{craft_frame, Probe};
use std::hint::black_box;
use std::path::Path;

fn bench(c: &mut Criterion) {
    let cluster =
        ClusterInfo::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/cluster/kubectl.json"))).unwrap();
    let req = ProbeRequest {
        source: Some("default/client".into()),
        destination: Some("default/web".into()),
        flow: parse_flow("tcp,tcp_dst=80").unwrap(),
        ..Default::default()
    };
    let mut rng = ProbeRng::from_seed(1);
    let spec = resolve(&req, Some((&cluster as &dyn Names, "kubectl.json")), &mut rng).unwrap().spec;

    c.bench_function("resolve names + defaults", |b| {
        b.iter(|| resolve(black_box(&req), Some((&cluster as &dyn Names, "kubectl.json")), &mut rng).unwrap())
    });
    c.bench_function("craft_frame tcp v4", |b| b.iter(|| craft_frame(black_box(&spec)).unwrap()));
    c.bench_function("probe.json round trip", |b| {
        let frame = craft_frame(&spec).unwrap();
        let doc = Probe::new(&spec, &frame, String::new());
        b.iter(|| {
            let text = serde_json::to_string(black_box(&doc)).unwrap();
            Probe::from_json(&text, "bench").unwrap()
        })
    });
    c.bench_function("baseline: etherparse PacketBuilder tcp v4", |b| {
        b.iter(|| {
            let builder = etherparse::PacketBuilder::ethernet2([2, 0, 10, 10, 0, 5], [2, 0, 10, 10, 0, 1])
                .ipv4([10, 10, 0, 5], [10, 96, 0, 10], 64)
                .tcp(40000, 80, 1, 64240)
                .syn();
            let mut out = Vec::with_capacity(64);
            builder.write(&mut out, &[]).unwrap();
            black_box(out)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
