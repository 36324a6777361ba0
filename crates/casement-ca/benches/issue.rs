//! Enrollment's CA cost per device: parse + verify the real Windows CSR, then issue.
//!
//! `cargo bench -p casement-ca --bench issue`. Figures are reported, never asserted.

use std::hint::black_box;
use std::time::Duration;

use casement_ca::{CaConfig, CertificateAuthority, VerifiedCsr};
use criterion::{Criterion, criterion_group, criterion_main};
use time::OffsetDateTime;

const WIN10_CSR_DER: &[u8] = include_bytes!("../testdata/win10-csr.der");

fn issue(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let mut rng = rand::rng();
    let ca = CertificateAuthority::generate(&CaConfig::default(), now, &mut rng).unwrap();

    let mut group = c.benchmark_group("ca");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("csr_parse_verify", |b| {
        b.iter(|| VerifiedCsr::from_der(black_box(WIN10_CSR_DER)).unwrap())
    });
    let csr = VerifiedCsr::from_der(WIN10_CSR_DER).unwrap();
    group.bench_function("issue", |b| {
        b.iter(|| {
            ca.issue_device_certificate(
                black_box(&csr),
                "B5B954E81FBCB94EB79BD08BE625F4EE",
                now,
                &mut rng,
            )
            .unwrap()
        })
    });
    group.bench_function("csr_parse_verify_issue", |b| {
        b.iter(|| {
            let csr = VerifiedCsr::from_der(black_box(WIN10_CSR_DER)).unwrap();
            let device_id = csr.device_id_extension().unwrap_or("device").to_owned();
            ca.issue_device_certificate(&csr, &device_id, now, &mut rng)
                .unwrap()
        })
    });
    let issued = ca
        .issue_device_certificate(&csr, "B5B954E81FBCB94EB79BD08BE625F4EE", now, &mut rng)
        .unwrap();
    group.bench_function("verify_client_certificate", |b| {
        b.iter(|| {
            ca.verify_client_certificate(black_box(&issued.der), now)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, issue);
criterion_main!(benches);
