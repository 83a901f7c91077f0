//! Three-way merge of a 25-field contact against its base snapshot, with four fields
//! changed on both sides (a conflict each), decided by the engine's public conflict
//! policy ([`ConflictPolicy`] through [`ConflictResolver`]).
//!
//! The engine's own merge function is crate-private, so the per-field three-way
//! classification is spelled out here the way the engine does it (a field counts as
//! changed on a side when it differs from base; both changed to different values is a
//! conflict for the resolver). The figure is the per-record cost of classifying 25
//! fields and resolving 4 conflicts.
//!
//! `cargo bench -p crmsync-engine --bench merge` (add `-- --quick` for a short run).

use std::hint::black_box;

use chrono::{Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crmsync_core::{
    ConflictInput, ConflictResolver, ConflictStrategy, FieldDecision, Fields, ObjectKind,
};
use crmsync_engine::ConflictPolicy;
use serde_json::{Value, json};

/// The base snapshot: 25 canonical contact fields.
fn base() -> Fields {
    [
        ("email", json!("ada@example.com")),
        ("first_name", json!("Ada")),
        ("last_name", json!("Lovelace")),
        ("phone", json!("+16502530000")),
        ("mobile_phone", json!("+16502530001")),
        ("company", json!("Analytical Engines Ltd")),
        ("title", json!("Engineer")),
        ("lead_status", json!("open")),
        ("lifecycle_stage", json!("lead")),
        ("city", json!("London")),
        ("state", json!("Greater London")),
        ("zip", json!("SW1A 1AA")),
        ("country", json!("GB")),
        ("address", json!("12 St James's Square")),
        ("website", json!("https://example.com")),
        ("industry", json!("Computing")),
        ("annual_revenue", json!(1_250_000.5)),
        ("employees", json!(42)),
        ("owner", json!("owner-7")),
        ("source", json!("webinar")),
        ("do_not_call", json!(false)),
        ("birth_date", json!("1815-12-10")),
        ("notes", json!("Met at the exhibition.")),
        ("score", json!(87)),
        ("language", json!("en")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Merges one record: classifies every field against base, resolves the conflicts,
/// and returns the chosen values and the number of conflicts decided.
fn merge(
    object: &ObjectKind,
    base: &Fields,
    local: &Fields,
    remote: &Fields,
    resolver: &dyn ConflictResolver,
) -> (Fields, usize) {
    let (local_at, remote_at) = (Some(Utc::now()), Some(Utc::now() - Duration::minutes(5)));
    let mut conflicts = 0;
    let mut chosen = Fields::new();
    for field in base.keys() {
        let (b, l, r) = (base.get(field), local.get(field), remote.get(field));
        let value: Option<Value> = match (l != b, r != b) {
            (false, false) => b.cloned(),
            (true, false) => l.cloned(),
            (false, true) => r.cloned(),
            (true, true) if l == r => l.cloned(),
            (true, true) => {
                conflicts += 1;
                match resolver.resolve(&ConflictInput {
                    object,
                    field,
                    base: b,
                    local: l,
                    remote: r,
                    local_modified_at: local_at,
                    remote_modified_at: remote_at,
                }) {
                    FieldDecision::TakeLocal => l.cloned(),
                    FieldDecision::TakeRemote => r.cloned(),
                    FieldDecision::Merged(v) => Some(v),
                    FieldDecision::Park => b.cloned(),
                }
            }
        };
        if let Some(value) = value {
            chosen.insert(field.clone(), value);
        }
    }
    (chosen, conflicts)
}

fn bench_merge(c: &mut Criterion) {
    let object = ObjectKind::Contact;
    let base = base();
    let mut local = base.clone();
    let mut remote = base.clone();
    // One-sided changes.
    local.insert("title".into(), json!("Principal Engineer"));
    remote.insert("city".into(), json!("Cambridge"));
    remote.insert("score".into(), json!(91));
    // Four conflicts, each decided by a different rule of the recommended policy.
    for (field, l, r) in [
        ("phone", "+16502539999", "+16502538888"),
        (
            "email",
            "ada@analytical.example",
            "ada.lovelace@example.com",
        ),
        ("lead_status", "in_progress", "connected"),
        ("notes", "Called; wants a demo.", "Emailed the brochure."),
    ] {
        local.insert(field.into(), json!(l));
        remote.insert(field.into(), json!(r));
    }

    let recommended = ConflictPolicy::recommended()
        .field(object.clone(), "notes", ConflictStrategy::LocalWins)
        .field(object.clone(), "score", ConflictStrategy::Manual);
    let mut group = c.benchmark_group("merge");
    group.throughput(Throughput::Elements(1));
    group.bench_function("25_fields_4_conflicts/recommended_policy", |b| {
        b.iter(|| {
            black_box(merge(
                &object,
                black_box(&base),
                black_box(&local),
                black_box(&remote),
                &recommended,
            ))
        });
    });
    let field_merge = ConflictPolicy::new(ConflictStrategy::FieldMerge)
        .merge_fallback(ConflictStrategy::LastWriteWins);
    group.bench_function("25_fields_4_conflicts/field_merge", |b| {
        b.iter(|| {
            black_box(merge(
                &object,
                black_box(&base),
                black_box(&local),
                black_box(&remote),
                &field_merge,
            ))
        });
    });
    group.finish();
}

criterion_group!(benches, bench_merge);
criterion_main!(benches);
