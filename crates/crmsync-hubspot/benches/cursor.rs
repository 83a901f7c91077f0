//! Encoding and decoding the HubSpot change-feed cursor: the `(timestamp, id)` position
//! of an incremental search pass (walking one instant by id), stored after every page.
//!
//! `cargo bench -p crmsync-hubspot --bench cursor` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use crmsync_core::Cursor;
use crmsync_hubspot::wire::CursorState;

/// A search-phase cursor mid-window, walking one instant by id.
const SEARCH: &str = r#"{"v":1,"phase":"search","after":"9800","since":1706695200000,"tie_after":"51234567890","high":1706695300000,"del_since":1706695200000,"started":1706695400000}"#;

fn bench_cursor(c: &mut Criterion) {
    let cursor = Cursor::new(SEARCH);
    let state = CursorState::decode(&cursor).unwrap_or_else(|e| panic!("decode: {e}"));
    let mut group = c.benchmark_group("hubspot_cursor");
    group.bench_function("decode", |b| {
        b.iter(|| CursorState::decode(black_box(&cursor)))
    });
    group.bench_function("encode", |b| b.iter(|| black_box(&state).encode()));
    group.finish();
}

criterion_group!(benches, bench_cursor);
criterion_main!(benches);
