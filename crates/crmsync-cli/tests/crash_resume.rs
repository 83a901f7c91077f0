//! Crash and resume: `crmsync sync` in a child process, SIGKILLed at random moments and
//! restarted, against the HubSpot simulator (in this process, behind a small logging
//! proxy that records every request the child sends).
//!
//! Asserts no loss, no duplicates and at most one page re-read per crash (RPO), and
//! prints the restart-to-first-committed-page time (RTO) of every restart.
//!
//! `CRMSYNC_CRASH_LARGE=1` runs the large scale (100,000 CRM contacts, 5,000 local ones).
//! `CRMSYNC_CRASH_SEED=N` changes the kill schedule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fs::File,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    process::Child,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use chrono::Utc;
use crmsync_core::{
    DeadLetterStatus, FieldMapper, LinkKey, MapContext, MirrorWrite, ObjectKind, Record, RecordId,
    ReviewFilter, ReviewStatus, SyncStore, TenantId,
};
use crmsync_sim::{HubSpotSim, HubSpotSimConfig, SimRecord};
use crmsync_store::{CredentialKey, SqliteStore};
use crmsync_transform::DeclarativeMapper;
use serde_json::Value;
use support::{Scratch, crmsync};

/// The page size every run asks for.
const PAGE: usize = 100;

/// A tiny xorshift64* generator: seeded, reproducible, no dependency.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

// ---------------------------------------------------------------------------------------
// The logging proxy.

/// What a request was, for counting page reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    /// A change-feed page: the list (live or archived) or a search on the last-modified
    /// property.
    Feed,
    /// A search by value (`IN`): match before create of one page of local records.
    Match,
    /// A batch write (create, update, upsert, archive).
    Write,
    /// Anything else (batch reads, properties, tokens).
    Other,
}

#[derive(Clone, Debug)]
struct Logged {
    kind: Kind,
    /// Method, target and body: the same page asked for twice has the same key.
    key: String,
}

type Log = Arc<Mutex<Vec<Logged>>>;

fn classify(method: &str, target: &str, body: &str) -> Kind {
    let path = target.split('?').next().unwrap_or("");
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["crm", "v3", "objects", _]) => Kind::Feed,
        ("POST", ["crm", "v3", "objects", _, "search"]) if body.contains("\"IN\"") => Kind::Match,
        ("POST", ["crm", "v3", "objects", _, "search"]) => Kind::Feed,
        ("POST", ["crm", "v3", "objects", _, "batch", op]) if *op != "read" => Kind::Write,
        _ => Kind::Other,
    }
}

/// A TCP proxy in front of the simulator that logs every HTTP/1.1 request (method,
/// target, body) before forwarding it. Threads, blocking I/O; lives as long as the test.
///
/// While `trap` is set, the next batch write is forwarded and its answer (and anything
/// after it on that connection) held back: the CRM has applied the write, the sync
/// does not know yet, and a kill then lands between the CRM write and the page commit.
fn start_proxy(upstream: SocketAddr, log: Log, trap: Arc<AtomicBool>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let (log, trap) = (log.clone(), trap.clone());
            thread::spawn(move || {
                let _ = relay(client, upstream, &log, &trap);
            });
        }
    });
    addr
}

fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    log: &Log,
    trap: &AtomicBool,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut back_from, mut back_to) = (server.try_clone()?, client.try_clone()?);
    let hold = Arc::new(AtomicBool::new(false));
    let held = hold.clone();
    let back = thread::spawn(move || {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n) = back_from.read(&mut buf) {
            if n == 0 {
                break;
            }
            while held.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(1));
            }
            if back_to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = back_to.shutdown(std::net::Shutdown::Both);
    });
    let mut reader = BufReader::new(client);
    let mut to_server = server;
    loop {
        let mut head = Vec::new();
        let mut request_line = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                let _ = to_server.shutdown(std::net::Shutdown::Write);
                let _ = back.join();
                return Ok(());
            }
            head.extend_from_slice(line.as_bytes());
            if request_line.is_empty() {
                request_line = line.trim_end().to_owned();
                continue;
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
                assert!(
                    !(name.trim().eq_ignore_ascii_case("transfer-encoding")
                        && value.to_ascii_lowercase().contains("chunked")),
                    "the proxy does not parse chunked request bodies"
                );
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("").to_owned();
        let text = String::from_utf8_lossy(&body).into_owned();
        let kind = classify(&method, &target, &text);
        if kind == Kind::Write && trap.swap(false, Ordering::SeqCst) {
            hold.store(true, Ordering::SeqCst);
        }
        log.lock().unwrap().push(Logged {
            kind,
            key: format!("{method} {target} {text}"),
        });
        to_server.write_all(&head)?;
        to_server.write_all(&body)?;
    }
}

// ---------------------------------------------------------------------------------------
// The scenario.

struct Scale {
    /// Contacts seeded in the CRM.
    remote: usize,
    /// Contacts seeded in the application's mirror (pushed).
    local: usize,
    /// SIGKILLs.
    kills: usize,
}

fn scale() -> Scale {
    if std::env::var("CRMSYNC_CRASH_LARGE").is_ok_and(|v| v == "1") {
        Scale {
            remote: 100_000,
            local: 5_000,
            kills: 8,
        }
    } else {
        Scale {
            remote: 3_000,
            local: 300,
            kills: 5,
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn tenant() -> TenantId {
    TenantId::new("acme")
}

fn link_key() -> LinkKey {
    LinkKey {
        connection: "hubspot".into(),
        object: ObjectKind::Contact,
    }
}

/// The simulator, a proxy logging what reaches it, and a scratch directory whose
/// configuration points at the proxy, with `local` contacts in the mirror.
struct Setup {
    sim: HubSpotSim,
    log: Log,
    trap: Arc<AtomicBool>,
    scratch: Scratch,
    store: SqliteStore,
    /// The local contacts seeded: mirror id → canonical fields.
    local: BTreeMap<RecordId, crmsync_core::Fields>,
}

fn setup(rt: &tokio::runtime::Runtime, name: &str, scale: &Scale) -> Setup {
    let sim = rt
        .block_on(HubSpotSim::start(HubSpotSimConfig {
            contacts: scale.remote,
            companies: 0,
            deals: 0,
            seed: 11,
            rate_limit_10s: 0,
            search_rate_per_s: 0,
            private_app_daily_limit: 0,
            ..HubSpotSimConfig::default()
        }))
        .unwrap();
    let log: Log = Arc::default();
    let trap = Arc::new(AtomicBool::new(false));
    let proxy = start_proxy(sim.local_addr(), log.clone(), trap.clone());
    let scratch = Scratch::new(name);
    scratch.write_config(&format!("http://{proxy}"), &sim.private_app_token(), "");
    let store = rt
        .block_on(SqliteStore::open(
            scratch.db(),
            CredentialKey::generate().unwrap(),
        ))
        .unwrap();
    let writes: Vec<MirrorWrite> = (0..scale.local)
        .map(|i| MirrorWrite {
            id: None,
            fields: [
                ("first_name", format!("Localfirst{i}")),
                ("last_name", format!("Pushedlast{i}")),
                ("email", format!("local-{i}@crash-resume.test")),
                ("title", format!("Title {}", i % 17)),
                ("city", "Utrecht".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect(),
            idempotency_key: None,
        })
        .collect();
    let mut local = BTreeMap::new();
    for chunk in writes.chunks(500) {
        let written = rt
            .block_on(store.mirror_write(&tenant(), &ObjectKind::Contact, chunk.to_vec()))
            .unwrap();
        for row in written {
            local.insert(row.id, row.fields);
        }
    }
    assert_eq!(local.len(), scale.local);
    Setup {
        sim,
        log,
        trap,
        scratch,
        store,
        local,
    }
}

fn spawn_sync(scratch: &Scratch, segment: usize) -> Child {
    crmsync()
        .arg("--config")
        .arg(scratch.config())
        .args([
            "sync",
            "hubspot",
            "contact",
            "--batch-size",
            &PAGE.to_string(),
            "--json",
        ])
        .stdout(File::create(scratch.dir.join(format!("run-{segment}.out"))).unwrap())
        .stderr(File::create(scratch.dir.join(format!("run-{segment}.err"))).unwrap())
        .spawn()
        .unwrap()
}

/// The latest commit of a page (any direction), microseconds since the epoch.
fn last_commit(rt: &tokio::runtime::Runtime, store: &SqliteStore) -> i64 {
    rt.block_on(
        sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(updated_at), 0) FROM checkpoints")
            .fetch_one(store.pool()),
    )
    .unwrap()
}

/// One run of the child, from spawn to exit or kill.
#[derive(Debug, Default)]
struct Segment {
    /// Spawn to the first committed page, when one was committed.
    rto: Option<Duration>,
    /// How long it ran.
    ran: Duration,
    killed: bool,
    exit: Option<i32>,
    /// Index of its first request in the proxy's log.
    first_request: usize,
    /// What the killed process's lease had left to run when it died.
    lease_left: Option<Duration>,
}

/// When to kill a run.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// This long after its spawn.
    After(Duration),
    /// This long after its first batch write reached the CRM, whose answer the proxy
    /// holds back: between a CRM write and the commit of its page, where a crash could
    /// duplicate records.
    AfterWrite(Duration),
}

/// Runs the child, killing it as `kills` say, restarting it each time, then lets it
/// finish.
fn run_with_crashes(rt: &tokio::runtime::Runtime, setup: &Setup, kills: &[Kill]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let index = segments.len();
        let kill = kills.get(index).copied();
        let first_request = setup.log.lock().unwrap().len();
        let mut wrote_at: Option<Instant> = None;
        let mut segment = Segment {
            first_request,
            ..Segment::default()
        };
        setup
            .trap
            .store(matches!(kill, Some(Kill::AfterWrite(_))), Ordering::SeqCst);
        let spawn_micros = Utc::now().timestamp_micros();
        let spawned = Instant::now();
        let mut child = spawn_sync(&setup.scratch, index);
        loop {
            if segment.rto.is_none() {
                let at = last_commit(rt, &setup.store);
                if at > spawn_micros {
                    segment.rto = Some(Duration::from_micros(
                        u64::try_from(at - spawn_micros).unwrap(),
                    ));
                }
            }
            if let Some(status) = child.try_wait().unwrap() {
                segment.exit = status.code();
                break;
            }
            if wrote_at.is_none()
                && setup.log.lock().unwrap()[first_request..]
                    .iter()
                    .any(|r| r.kind == Kind::Write)
            {
                wrote_at = Some(Instant::now());
            }
            let due = match kill {
                Some(Kill::After(k)) => spawned.elapsed() >= k,
                Some(Kill::AfterWrite(k)) => wrote_at.is_some_and(|at| at.elapsed() >= k),
                None => false,
            };
            if due {
                // SIGKILL on Unix.
                child.kill().unwrap();
                child.wait().unwrap();
                segment.killed = true;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the crash test ran for 30 minutes"
            );
            thread::sleep(Duration::from_millis(3));
        }
        segment.ran = spawned.elapsed();
        setup.trap.store(false, Ordering::SeqCst);
        if segment.rto.is_none() {
            // A page committed in the last moments before the exit or the kill.
            let at = last_commit(rt, &setup.store);
            if at > spawn_micros {
                segment.rto = Some(Duration::from_micros(
                    u64::try_from(at - spawn_micros).unwrap(),
                ));
            }
        }
        // Bytes the child sent before it died reach the proxy's log.
        thread::sleep(Duration::from_millis(50));
        let killed = segment.killed;
        if killed {
            segment.lease_left = expire_lease(rt, &setup.store);
        }
        segments.push(segment);
        if !killed {
            break;
        }
    }
    segments
}

/// The dead process's lease outlives it until its TTL (two minutes by default; every
/// process holds leases under a name of its own). The test plays the TTL running out
/// (what a restart otherwise waits for, part of the RTO) and returns what was left.
fn expire_lease(rt: &tokio::runtime::Runtime, store: &SqliteStore) -> Option<Duration> {
    let now = Utc::now().timestamp_micros();
    let expires: Option<i64> = rt
        .block_on(
            sqlx::query_scalar::<_, i64>(
                "SELECT expires_at FROM leases WHERE lease_key = 'sync/hubspot/contact'",
            )
            .fetch_optional(store.pool()),
        )
        .unwrap();
    rt.block_on(
        sqlx::query("UPDATE leases SET expires_at = 0 WHERE lease_key = 'sync/hubspot/contact'")
            .execute(store.pool()),
    )
    .unwrap();
    // (An expired row is the one the test expired after the previous kill: this process
    // died before it took the lease.)
    expires
        .filter(|at| *at > now)
        .map(|at| Duration::from_micros(u64::try_from(at - now).unwrap()))
}

/// Feed pages, match-before-create searches and batch writes each segment sent that an
/// earlier segment had sent already.
fn re_reads(log: &[Logged], segments: &[Segment]) -> Vec<(usize, usize, usize)> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let end = segments.get(i + 1).map_or(log.len(), |s| s.first_request);
        let requests = &log[segment.first_request..end];
        let again = |kind: Kind| {
            requests
                .iter()
                .filter(|r| r.kind == kind && seen.contains(r.key.as_str()))
                .count()
        };
        out.push((again(Kind::Feed), again(Kind::Match), again(Kind::Write)));
        seen.extend(requests.iter().map(|r| r.key.as_str()));
    }
    out
}

fn count(log: &[Logged], kind: Kind) -> usize {
    log.iter().filter(|r| r.kind == kind).count()
}

/// The CRM record as the engine sees it: the mapping's canonical fields.
fn canonical(mapper: &DeclarativeMapper, record: &SimRecord) -> crmsync_core::Fields {
    let fields = record
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let record = Record::new(record.id.as_str(), ObjectKind::Contact, fields);
    let tenant = tenant();
    let connection = "hubspot".into();
    let ctx = MapContext {
        tenant: &tenant,
        connection: &connection,
        object: &ObjectKind::Contact,
        skip_validation: false,
    };
    mapper
        .to_canonical(&ctx, &record)
        .unwrap_or_else(|e| panic!("CRM record {} does not map: {e:?}", record.id))
        .fields
}

fn value_of<'a>(fields: &'a crmsync_core::Fields, key: &str) -> &'a Value {
    fields.get(key).unwrap_or(&Value::Null)
}

/// No loss, no duplicates: every CRM contact has exactly one link and a mirror row with
/// the same mapped fields; every local contact was pushed once.
fn assert_both_sides_complete(rt: &tokio::runtime::Runtime, setup: &Setup, scale: &Scale) {
    let store = &setup.store;
    let expected = scale.remote + scale.local;
    let remote = setup.sim.records("contacts");
    assert_eq!(
        remote.len(),
        expected,
        "CRM contacts (duplicates or losses)"
    );
    // (Some seeded CRM contacts have no e-mail.)
    let with_email: Vec<&str> = remote
        .iter()
        .filter_map(|r| r.properties.get("email").map(String::as_str))
        .collect();
    let emails: HashSet<&str> = with_email.iter().copied().collect();
    assert_eq!(
        emails.len(),
        with_email.len(),
        "CRM contacts sharing an e-mail"
    );
    let mirror_count = rt
        .block_on(store.mirror_count(&tenant(), &ObjectKind::Contact))
        .unwrap();
    assert_eq!(mirror_count, expected as u64, "mirror contacts");

    let pending = rt
        .block_on(store.list_dead_letters(&tenant(), Some(DeadLetterStatus::Pending), 100))
        .unwrap();
    assert!(pending.is_empty(), "dead letters: {pending:?}");
    let parked = rt
        .block_on(store.list_review_items(
            &tenant(),
            &ReviewFilter {
                status: Some(ReviewStatus::Pending),
                ..ReviewFilter::default()
            },
        ))
        .unwrap();
    assert!(parked.is_empty(), "review items: {parked:?}");
    let links = rt
        .block_on(store.count_links(&tenant(), &link_key()))
        .unwrap();
    assert_eq!(links, expected as u64, "links");

    let mapper = DeclarativeMapper::hubspot_defaults();
    let by_id: HashMap<&str, &SimRecord> = remote.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut mismatches = Vec::new();
    for chunk in remote.chunks(500) {
        let ids: Vec<RecordId> = chunk.iter().map(|r| RecordId::new(r.id.as_str())).collect();
        let links = rt
            .block_on(store.links_by_remote(&tenant(), &link_key(), &ids))
            .unwrap();
        assert_eq!(links.len(), chunk.len(), "CRM contacts without a link");
        let local_ids: Vec<RecordId> = links.iter().map(|l| l.local_id.clone()).collect();
        let rows = rt
            .block_on(store.mirror_get(&tenant(), &ObjectKind::Contact, &local_ids))
            .unwrap();
        assert_eq!(rows.len(), links.len(), "links without a mirror row");
        let rows: HashMap<&RecordId, &crmsync_core::MirrorRecord> =
            rows.iter().map(|r| (&r.id, r)).collect();
        for link in &links {
            let sim_record = by_id[link.remote_id.as_str()];
            let row = rows[&link.local_id];
            // A local contact's own fields reached the CRM; a CRM contact's mapped
            // fields reached the mirror.
            let compared: Vec<(String, Value, Value)> = match setup.local.get(&link.local_id) {
                Some(seeded) => {
                    let remote = canonical(&mapper, sim_record);
                    seeded
                        .keys()
                        .map(|k| {
                            (
                                k.clone(),
                                value_of(seeded, k).clone(),
                                value_of(&remote, k).clone(),
                            )
                        })
                        .collect()
                }
                None => {
                    let remote = canonical(&mapper, sim_record);
                    remote
                        .keys()
                        .map(|k| {
                            (
                                k.clone(),
                                value_of(&row.fields, k).clone(),
                                value_of(&remote, k).clone(),
                            )
                        })
                        .collect()
                }
            };
            for (field, local, remote) in compared {
                if local != remote {
                    mismatches.push(format!(
                        "{} ⇄ {} {field}: {local} ≠ {remote}",
                        link.local_id, link.remote_id
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} field(s) differ, e.g. {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(10)]
    );

    let local_ids: Vec<RecordId> = setup.local.keys().cloned().collect();
    for chunk in local_ids.chunks(500) {
        let links = rt
            .block_on(store.links_by_local(&tenant(), &link_key(), chunk))
            .unwrap();
        assert_eq!(links.len(), chunk.len(), "local contacts never pushed");
        for link in links {
            assert!(
                by_id.contains_key(link.remote_id.as_str()),
                "{} links to a CRM contact that does not exist",
                link.local_id
            );
        }
    }
}

fn final_report(setup: &Setup, segments: &[Segment]) -> Value {
    let last = segments.len() - 1;
    let text = std::fs::read_to_string(setup.scratch.dir.join(format!("run-{last}.out"))).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| {
        let err =
            std::fs::read_to_string(setup.scratch.dir.join(format!("run-{last}.err"))).unwrap();
        panic!("the last run's output is not JSON ({e}):\n{text}\n{err}")
    })
}

/// The whole scenario: a calm run, then the same sync on a fresh simulator and store
/// with `scale.kills` SIGKILLs; asserts both end complete and that no restart re-read
/// more than `max_re_reads` pages of an earlier run.
fn crash_scenario(name: &str, scale: &Scale, max_re_reads: usize) {
    let seed = std::env::var("CRMSYNC_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_C0DE_u64);
    let rt = runtime();

    // A run without crashes first: how long the sync takes, and what it reads.
    let calm = setup(&rt, &format!("{name}-calm"), scale);
    let calm_segments = run_with_crashes(&rt, &calm, &[]);
    assert_eq!(
        calm_segments[0].exit,
        Some(0),
        "{}",
        final_report(&calm, &calm_segments)
    );
    assert_both_sides_complete(&rt, &calm, scale);
    let calm_log = calm.log.lock().unwrap().clone();
    let calm_time = calm_segments[0].ran;

    // The same with crashes. Each kill but the last lands uniformly between 10 ms after
    // its run's spawn and the calm run's first commit plus 2/(kills + 1) of the rest of
    // its time, so the kills spread over start-up and the whole sync; with local
    // contacts, the last lands 5–30 ms after the run's first batch write reached the CRM
    // (whose answer never reaches the sync).
    let crashy = setup(&rt, &format!("{name}-kill"), scale);
    let mut rng = XorShift::new(seed);
    let calm_start = calm_segments[0].rto.unwrap_or_default();
    let max_delay = calm_start
        + calm_time.saturating_sub(calm_start) * 2 / u32::try_from(scale.kills + 1).unwrap();
    let max_ms = u64::try_from(max_delay.as_millis()).unwrap();
    let kills: Vec<Kill> = (0..scale.kills)
        .map(|i| {
            if i + 1 == scale.kills && scale.local > 0 {
                Kill::AfterWrite(Duration::from_millis(rng.range(5, 30)))
            } else {
                Kill::After(Duration::from_millis(rng.range(10, max_ms)))
            }
        })
        .collect();
    let segments = run_with_crashes(&rt, &crashy, &kills);
    let report = final_report(&crashy, &segments);
    assert_eq!(segments.last().unwrap().exit, Some(0), "{report}");
    assert_eq!(report["status"], "success", "{report}");
    let crashes = segments.iter().filter(|s| s.killed).count();
    assert_both_sides_complete(&rt, &crashy, scale);

    // RPO: what each restart read again.
    let log = crashy.log.lock().unwrap().clone();
    let again = re_reads(&log, &segments);
    let pages = scale.remote.div_ceil(PAGE);
    println!(
        "crash/resume ({name}): {} CRM + {} local contacts, pages of {PAGE}, seed {seed:#x}, \
         {crashes} SIGKILLs, kills {kills:?}",
        scale.remote, scale.local,
    );
    println!(
        "calm run: {:.2} s, first page committed after {} ms, feed pages read {} \
         (ceil(N/page) = {pages}), match searches {}, batch writes {}",
        calm_time.as_secs_f64(),
        calm_segments[0].rto.map_or(0, |d| d.as_millis()),
        count(&calm_log, Kind::Feed),
        count(&calm_log, Kind::Match),
        count(&calm_log, Kind::Write),
    );
    for (i, segment) in segments.iter().enumerate() {
        println!(
            "  run {i}: {} after {:>5} ms; first page committed after {}; re-read {} feed \
             page(s) and {} match search(es), re-sent {} batch write(s) of earlier runs{}",
            if segment.killed { "SIGKILL" } else { "exited " },
            segment.ran.as_millis(),
            segment.rto.map_or_else(
                || "— (none)".to_owned(),
                |d| format!("{} ms", d.as_millis())
            ),
            again[i].0,
            again[i].1,
            again[i].2,
            segment.lease_left.map_or_else(String::new, |left| format!(
                "; its lease had {} s left (a restart is refused until then)",
                left.as_secs()
            )),
        );
    }
    println!(
        "crashed run: feed pages read {} (calm run {}), match searches {} (calm {}), \
         batch writes {} (calm {})",
        count(&log, Kind::Feed),
        count(&calm_log, Kind::Feed),
        count(&log, Kind::Match),
        count(&calm_log, Kind::Match),
        count(&log, Kind::Write),
        count(&calm_log, Kind::Write),
    );
    rt.block_on(calm.store.close());
    rt.block_on(crashy.store.close());

    // Each restart (run i ≥ 1) re-reads at most the CRM pages its predecessor had in
    // flight, and repeats at most the match-before-create searches of the one
    // application page it had in flight (as many as the crash-free run needed per page).
    let local_pages = scale.local.div_ceil(PAGE).max(1);
    let searches_per_page = count(&calm_log, Kind::Match).div_ceil(local_pages);
    for (i, (feed, matched, _)) in again.iter().enumerate().skip(1) {
        assert!(
            *feed <= max_re_reads && *matched <= searches_per_page,
            "run {i} re-read {feed} feed page(s) (at most {max_re_reads}) and repeated \
             {matched} match search(es) (at most {searches_per_page}) after one crash"
        );
    }
}

/// No loss, no duplicates, and at most two pages re-read per crash: the page being
/// applied and the next one, which the engine reads ahead while it applies a page.
#[test]
fn sigkilled_syncs_resume_without_loss_or_duplicates() {
    crash_scenario("crash", &scale(), 2);
}

/// A restart right after a SIGKILL is refused while the killed process's lease lasts
/// (the engine cannot tell a killed worker from a slow one on another machine; the
/// lease's TTL, two minutes by default, bounds the wait and so the RTO), saying so; once
/// the lease has expired it resumes and closes the killed run as abandoned.
#[test]
fn a_restart_after_a_sigkill_waits_out_the_lease_then_resumes() {
    let rt = runtime();
    let scale = Scale {
        remote: 600,
        local: 0,
        kills: 1,
    };
    let setup = setup(&rt, "lease", &scale);
    let spawn_micros = Utc::now().timestamp_micros();
    let mut child = spawn_sync(&setup.scratch, 0);
    let deadline = Instant::now() + Duration::from_secs(120);
    while last_commit(&rt, &setup.store) <= spawn_micros {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first page"
        );
        assert!(Instant::now() < deadline, "no page committed in 2 minutes");
        thread::sleep(Duration::from_millis(3));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let sync = || {
        crmsync()
            .arg("--config")
            .arg(setup.scratch.config())
            .args(["sync", "hubspot", "contact", "--json"])
            .output()
            .unwrap()
    };
    let refused = sync();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_ne!(refused.status.code(), Some(0), "{said}");
    assert!(said.contains("another worker"), "{said}");
    let left = expire_lease(&rt, &setup.store).expect("the killed process's lease");
    assert!(
        left <= Duration::from_secs(120),
        "the lease outlives the default TTL: {left:?}"
    );
    let run = sync();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "the restart after the lease was refused:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let abandoned: i64 = rt
        .block_on(
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM sync_runs WHERE status = 'failed' AND error LIKE 'abandoned%'",
            )
            .fetch_one(setup.store.pool()),
        )
        .unwrap();
    assert_eq!(abandoned, 1, "the killed run is closed as abandoned");
    rt.block_on(setup.store.close());
}
