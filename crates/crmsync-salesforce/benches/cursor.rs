//! Encoding and decoding the Salesforce change-feed cursor: the `(SystemModstamp, Id)`
//! position of a scan with its query locator, stored after every page.
//!
//! `cargo bench -p crmsync-salesforce --bench cursor` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use crmsync_core::Cursor;
use crmsync_salesforce::wire::CursorState;

/// A scan-phase cursor of a full pass, mid-query.
const SCAN: &str = r#"{"v":1,"phase":"scan","full":true,"since":0,"del_since":0,"after":[1706695200000,"003D000000QV9n2IAD"],"next_url":"/services/data/v61.0/query/01gD0000002HU6KIAW-4000","total":120000,"high":1706695200000,"del_high":0}"#;

fn bench_cursor(c: &mut Criterion) {
    let cursor = Cursor::new(SCAN);
    let state = CursorState::decode(&cursor).unwrap_or_else(|e| panic!("decode: {e}"));
    let mut group = c.benchmark_group("salesforce_cursor");
    group.bench_function("decode", |b| {
        b.iter(|| CursorState::decode(black_box(&cursor)))
    });
    group.bench_function("encode", |b| b.iter(|| black_box(&state).encode()));
    group.finish();
}

criterion_group!(benches, bench_cursor);
criterion_main!(benches);
