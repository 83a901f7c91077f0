//! `SqliteStore` batch writes on a temporary file: the per-page commit of the sync
//! pipeline (100 links and 100 audit rows in one transaction) and a 1,000-record
//! mirror write.
//!
//! `cargo bench -p crmsync-store --bench store` (add `-- --quick` for a short run).

use std::{hint::black_box, path::PathBuf};

use chrono::Utc;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use crmsync_core::{
    AuditEntry, AuditOutcome, ConnectionId, Cursor, Direction, Fields, Link, MirrorWrite,
    ObjectKind, PageCommit, RecordId, SyncStore, TenantId, WriteSource,
};
use crmsync_store::{CredentialKey, SqliteStore};
use serde_json::json;

/// A store on a fresh file in the temp directory, removed (with its WAL) on drop.
struct TempStore {
    store: SqliteStore,
    path: PathBuf,
}

impl TempStore {
    fn open(rt: &tokio::runtime::Runtime, name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("crmsync-bench-{name}-{}.db", std::process::id()));
        remove(&path);
        let store = rt
            .block_on(SqliteStore::open(&path, CredentialKey::from_bytes([7; 32])))
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        Self { store, path }
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        remove(&self.path);
    }
}

fn remove(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// A contact as the pipeline stores it: eight canonical fields.
fn contact(i: usize, version: u64) -> Fields {
    [
        ("email", json!(format!("person{i}@example.com"))),
        ("first_name", json!("Ada")),
        ("last_name", json!(format!("Lovelace {i}"))),
        ("phone", json!(format!("+1650253{:04}", i % 10_000))),
        ("company", json!("Analytical Engines Ltd")),
        ("title", json!("Engineer")),
        ("lead_status", json!("open")),
        ("version", json!(version)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// One page of sync: 100 links, 100 audit rows and the cursor after the page.
fn page(round: u64) -> PageCommit {
    let now = Utc::now();
    let mut commit = PageCommit::new(ConnectionId::new("hubspot-main"), ObjectKind::Contact);
    for i in 0..100 {
        let base = contact(i, round);
        commit.upsert_links.push(Link {
            local_id: RecordId::new(format!("local-{i}")),
            remote_id: RecordId::new(format!("{}", 1_000 + i)),
            base_hash: round.wrapping_mul(31).wrapping_add(i as u64),
            base,
            remote_modified_at: Some(now),
            local_modified_at: Some(now),
            synced_at: now,
        });
        commit.audit.push(AuditEntry {
            run_id: None,
            connection: ConnectionId::new("hubspot-main"),
            object: ObjectKind::Contact,
            local_id: Some(RecordId::new(format!("local-{i}"))),
            remote_id: Some(RecordId::new(format!("{}", 1_000 + i))),
            operation: "update_local".to_owned(),
            source: WriteSource::Remote,
            changes: json!({"version": {"before": round.saturating_sub(1), "after": round}}),
            outcome: AuditOutcome::Success,
            error: None,
            at: now,
        });
    }
    commit.checkpoint = Some((
        Direction::Pull,
        Cursor::new(format!("{{\"v\":1,\"after\":\"{}\"}}", round * 100)),
    ));
    commit
}

fn bench_store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let tenant = TenantId::new("acme");

    let pages = TempStore::open(&rt, "commit-page");
    let mut group = c.benchmark_group("sqlite");
    group.throughput(Throughput::Elements(100));
    let mut round = 0u64;
    group.bench_function("commit_page/100_links_100_audit", |b| {
        b.iter_batched(
            || {
                round += 1;
                page(round)
            },
            |commit| {
                rt.block_on(pages.store.commit_page(&tenant, commit))
                    .unwrap_or_else(|e| panic!("commit_page: {e}"));
            },
            BatchSize::SmallInput,
        );
    });

    let mirror = TempStore::open(&rt, "mirror-write");
    group.throughput(Throughput::Elements(1_000));
    let mut round = 0u64;
    group.bench_function("mirror_write/1000_records", |b| {
        b.iter_batched(
            || {
                round += 1;
                (0..1_000)
                    .map(|i| MirrorWrite {
                        id: Some(RecordId::new(format!("c-{i}"))),
                        fields: contact(i, round),
                        idempotency_key: None,
                    })
                    .collect::<Vec<_>>()
            },
            |writes| {
                let stored = rt
                    .block_on(
                        mirror
                            .store
                            .mirror_write(&tenant, &ObjectKind::Contact, writes),
                    )
                    .unwrap_or_else(|e| panic!("mirror_write: {e}"));
                black_box(stored);
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench_store);
criterion_main!(benches);
