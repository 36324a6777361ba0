//! Parse and write of a typical package 1 (the real Windows 10 capture in `testdata/`).
//! Run: `cargo bench -p casement-syncml --bench codec`. Messages/s = 1 / time per iteration.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn package1() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/win10-07-session1-client-msg1.xml"
    );
    std::fs::read_to_string(path).expect("fixture")
}

fn codec(c: &mut Criterion) {
    let pretty = package1();
    let message = casement_syncml::parse(pretty.as_bytes()).expect("parses");
    let compact = casement_syncml::to_string(&message);
    let mut group = c.benchmark_group("package1");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_pretty", |b| {
        b.iter(|| casement_syncml::parse(black_box(pretty.as_bytes())).unwrap())
    });
    group.bench_function("parse_compact", |b| {
        b.iter(|| casement_syncml::parse(black_box(compact.as_bytes())).unwrap())
    });
    // The floor: quick-xml's event loop alone over the same bytes, no model built.
    group.bench_function("baseline_events_only", |b| {
        b.iter(|| {
            let mut reader = quick_xml::Reader::from_str(black_box(&pretty));
            let mut n = 0usize;
            while !matches!(
                reader.read_event(),
                Ok(quick_xml::events::Event::Eof) | Err(_)
            ) {
                n += 1;
            }
            n
        })
    });
    group.bench_function("write", |b| {
        b.iter(|| casement_syncml::to_string(black_box(&message)))
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
