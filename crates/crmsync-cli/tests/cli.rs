//! The `crmsync` binary, as an operator uses it: against the HubSpot simulator, on an
//! SQLite store in a scratch directory.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use crmsync_core::{LinkKey, MirrorWrite, ObjectKind, RecordId, SyncStore, TenantId};
use crmsync_sim::{HubSpotSim, HubSpotSimConfig};
use crmsync_store::{CredentialKey, SqliteStore};
use serde_json::{Value, json};
use support::{Scratch, SimProcess, crmsync, edit_file};

async fn sim(contacts: usize) -> HubSpotSim {
    HubSpotSim::start(HubSpotSimConfig {
        contacts,
        companies: 0,
        deals: 0,
        seed: 7,
        rate_limit_10s: 0,
        search_rate_per_s: 0,
        ..HubSpotSimConfig::default()
    })
    .await
    .unwrap()
}

fn pending_ids(list: &Value, key: &str) -> Vec<i64> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn init_then_sim_then_sync_then_history_works_for_a_new_user() {
    let scratch = Scratch::new("first-steps");
    let init = scratch.run(&["init"]).expect(0);
    assert!(
        init.stdout.contains("crmsync sim hubspot --port 8787"),
        "{}",
        init.stdout
    );
    assert!(scratch.config().is_file());

    // What the README says: start the simulator, sync, look at the history. The test's
    // simulator takes a free port rather than 8787.
    let sim = SimProcess::start(&[
        "hubspot",
        "--port",
        "0",
        "--contacts",
        "40",
        "--companies",
        "5",
        "--deals",
        "5",
    ]);
    let base_url = sim.line["base_url"].as_str().unwrap();
    edit_file(&scratch.config(), "http://127.0.0.1:8787", base_url);

    let sync = scratch.run(&["sync", "hubspot", "all"]).expect(0);
    for object in ["contact", "company", "deal", "total", "success"] {
        assert!(
            sync.stdout.contains(object),
            "{object} missing:\n{}",
            sync.stdout
        );
    }
    // The simulator's token never shows.
    let token = std::fs::read_to_string(scratch.dir.join("hubspot-sim.token")).unwrap();
    assert!(!sync.stdout.contains(token.trim()) && !sync.stderr.contains(token.trim()));

    let history = scratch
        .run(&["history", "--limit", "3", "--json"])
        .expect(0)
        .json();
    let runs = history["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{history}");
    assert!(runs.iter().all(|r| r["status"] == "success"), "{history}");
    let created: u64 = runs
        .iter()
        .map(|r| r["counts"]["created_local"].as_u64().unwrap())
        .sum();
    assert_eq!(created, 50);

    let table = scratch.run(&["history"]).expect(0);
    assert!(
        table.stdout.contains("Run history") && table.stdout.contains("success"),
        "{}",
        table.stdout
    );

    // Not even in the --debug log.
    let debug = scratch
        .run(&["sync", "hubspot", "contact", "--debug"])
        .expect(0);
    assert!(!debug.stdout.contains(token.trim()) && !debug.stderr.contains(token.trim()));

    // A second run finds nothing new, and the doctor is content.
    let again = scratch
        .run(&["sync", "hubspot", "contact", "--json"])
        .expect(0)
        .json();
    assert_eq!(again["objects"][0]["counts"]["created_local"], 0, "{again}");
    let doctor = scratch.run(&["doctor"]).expect(0);
    assert!(doctor.stdout.contains("reachable"), "{}", doctor.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_leaves_the_store_byte_for_byte_unchanged() {
    let sim = sim(30).await;
    let scratch = Scratch::new("dry-run");
    scratch.write_config(&sim.base_url(), &sim.private_app_token(), "");
    scratch.run(&["sync", "hubspot", "contact"]).expect(0);

    let contact = sim.records("contacts")[0].id.clone();
    sim.edit("contacts", &contact, &[("jobtitle", "Chief Dry Runner")]);
    let before = scratch.store_files();
    assert!(!before.is_empty());

    let plan = scratch
        .run(&["sync", "hubspot", "contact", "--dry-run", "--json"])
        .expect(0)
        .json();
    assert_eq!(plan["dry_run"], true);
    assert!(
        plan["objects"][0]["counts"]["pulled"].as_u64().unwrap() >= 1,
        "{plan}"
    );
    assert_eq!(plan["objects"][0]["counts"]["updated_local"], 1, "{plan}");
    assert_eq!(
        scratch.store_files(),
        before,
        "the dry run changed the store's files"
    );

    // A dry run on a store that does not exist yet creates nothing.
    let fresh = Scratch::new("dry-run-fresh");
    fresh.write_config(&sim.base_url(), &sim.private_app_token(), "");
    fresh
        .run(&["sync", "hubspot", "contact", "--dry-run"])
        .expect(0);
    assert!(fresh.store_files().is_empty());

    // The real run does what the dry run planned.
    let real = scratch
        .run(&["sync", "hubspot", "contact", "--json"])
        .expect(0)
        .json();
    assert_eq!(real["objects"][0]["counts"]["updated_local"], 1, "{real}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_records_and_batch_size_are_honoured() {
    let sim = sim(120).await;
    let scratch = Scratch::new("limits");
    scratch.write_config(&sim.base_url(), &sim.private_app_token(), "");
    sim.reset_stats();

    let run = scratch
        .run(&[
            "sync",
            "hubspot",
            "contact",
            "--direction",
            "pull",
            "--batch-size",
            "20",
            "--max-records",
            "50",
            "--json",
        ])
        .expect(2)
        .json();
    let counts = &run["objects"][0]["counts"];
    assert_eq!(run["objects"][0]["status"], "partial", "{run}");
    assert_eq!(counts["pulled"], 50, "{run}");
    assert_eq!(counts["pages"], 3, "{run}");
    let stats = sim.stats();
    let reads: u64 = ["list", "search"]
        .iter()
        .map(|e| stats.by_endpoint.get(*e).copied().unwrap_or(0))
        .sum();
    assert_eq!(reads, 3, "pages of 20, 20 and 10 records: {stats:?}");

    // The next run resumes from the checkpoint and reads the rest.
    let rest = scratch
        .run(&[
            "sync",
            "hubspot",
            "contact",
            "--direction",
            "pull",
            "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(rest["objects"][0]["counts"]["created_local"], 70, "{rest}");
    sim.shutdown().await;
}

#[test]
fn mistakes_exit_non_zero_and_say_what_to_do() {
    let scratch = Scratch::new("mistakes");

    // No configuration yet.
    let none = scratch.run(&["history"]).expect(78);
    assert!(none.stderr.contains("crmsync init"), "{}", none.stderr);

    scratch.write_config("http://127.0.0.1:9", "pat-na1-not-a-real-token", "");
    let bad_flag = scratch.run(&["sync", "hubspot", "--bogus"]).expect(64);
    assert!(
        bad_flag.stderr.contains("--bogus") && bad_flag.stderr.contains("--help"),
        "{}",
        bad_flag.stderr
    );

    let bad_date = scratch
        .run(&["sync", "hubspot", "contact", "--start-date", "2024-13-45"])
        .expect(64);
    assert!(
        bad_date.stderr.contains("YYYY-MM-DD"),
        "{}",
        bad_date.stderr
    );

    let bad_number = scratch
        .run(&["sync", "hubspot", "--batch-size", "lots"])
        .expect(64);
    assert!(
        bad_number.stderr.contains("--batch-size"),
        "{}",
        bad_number.stderr
    );

    let unknown = scratch.run(&["sync", "nope"]).expect(64);
    assert!(
        unknown.stderr.contains("no connection named `nope`")
            && unknown.stderr.contains("use one of: hubspot"),
        "{}",
        unknown.stderr
    );

    let unknown_object = scratch.run(&["sync", "hubspot", "widgets"]).expect(64);
    assert!(
        unknown_object.stderr.contains("contact, company, deal"),
        "{}",
        unknown_object.stderr
    );

    let no_command = crmsync().output().unwrap();
    assert_eq!(no_command.status.code(), Some(64));

    // A credential that is not there.
    let config = std::fs::read_to_string(scratch.config()).unwrap();
    std::fs::write(
        scratch.config(),
        config.replace(
            "token_file = \"hubspot.token\"",
            "token_env = \"CRMSYNC_TEST_SURELY_UNSET\"",
        ),
    )
    .unwrap();
    let missing = scratch.run(&["sync", "hubspot"]).expect(78);
    assert!(
        missing.stderr.contains("CRMSYNC_TEST_SURELY_UNSET") && missing.stderr.contains("export"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("crmsync.toml:"),
        "{}",
        missing.stderr
    );

    // A configuration mistake names its line.
    std::fs::write(
        scratch.config(),
        config.replace("provider = \"hubspot\"", "provider = \"hubspoot\""),
    )
    .unwrap();
    let bad_config = scratch.run(&["sync", "hubspot"]).expect(78);
    assert!(
        bad_config.stderr.contains("crmsync.toml:9:"),
        "{}",
        bad_config.stderr
    );
    assert!(
        bad_config
            .stderr
            .contains("fix: use provider = \"hubspot\""),
        "{}",
        bad_config.stderr
    );

    // A secret written into the file is refused, and never echoed.
    std::fs::write(
        scratch.config(),
        config.replace(
            "token_file = \"hubspot.token\"",
            "token = \"pat-na1-oops-secret\"",
        ),
    )
    .unwrap();
    let inline = scratch.run(&["sync", "hubspot"]).expect(78);
    assert!(inline.stderr.contains("token_env"), "{}", inline.stderr);
    assert!(
        !inline.stderr.contains("pat-na1-oops-secret"),
        "{}",
        inline.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_replay_re_applies_a_fixed_record() {
    let sim = sim(10).await;
    let broken = sim.records("contacts")[3].id.clone();
    sim.edit("contacts", &broken, &[("email", "not-an-email")]);
    let scratch = Scratch::new("dlq");
    scratch.write_config(&sim.base_url(), &sim.private_app_token(), "");

    let first = scratch
        .run(&["sync", "hubspot", "contact", "--json"])
        .expect(2)
        .json();
    assert_eq!(first["objects"][0]["counts"]["dead_letters"], 1, "{first}");
    let list = scratch.run(&["dlq", "list", "--json"]).expect(0).json();
    let ids = pending_ids(&list, "dead_letters");
    assert_eq!(ids.len(), 1, "{list}");
    assert_eq!(list["dead_letters"][0]["record_id"], broken.as_str());
    assert_eq!(list["dead_letters"][0]["field"], "email");
    let id = ids[0].to_string();
    scratch.run(&["dlq", "show", &id]).expect(0);

    // Not fixed yet: it stays pending, with the reason.
    let early = scratch.run(&["dlq", "replay", &id]).expect(1);
    assert!(early.stdout.contains("still failing"), "{}", early.stdout);

    // Fixed in the CRM: the replay syncs it.
    sim.edit("contacts", &broken, &[("email", "fixed@example.com")]);
    let replay = scratch
        .run(&["dlq", "replay", &id, "--json"])
        .expect(0)
        .json();
    assert_eq!(replay["replayed"][0]["outcome"], "replayed", "{replay}");
    let all = scratch
        .run(&["dlq", "list", "--status", "all", "--json"])
        .expect(0)
        .json();
    assert_eq!(all["dead_letters"][0]["status"], "replayed", "{all}");
    assert_eq!(all["dead_letters"][0]["attempts"], 3, "{all}");

    let store = SqliteStore::open(scratch.db(), CredentialKey::generate().unwrap())
        .await
        .unwrap();
    let found = store
        .mirror_find(
            &TenantId::new("acme"),
            &ObjectKind::Contact,
            "email",
            &["fixed@example.com".into()],
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        store
            .mirror_count(&TenantId::new("acme"), &ObjectKind::Contact)
            .await
            .unwrap(),
        10
    );
    store.close().await;

    // Nothing left to replay.
    scratch.run(&["dlq", "replay", &id]).expect(64);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_resolve_settles_a_conflict_on_both_sides() {
    let sim = sim(5).await;
    let scratch = Scratch::new("review");
    scratch.write_config(
        &sim.base_url(),
        &sim.private_app_token(),
        "[connections.hubspot.conflicts]\ndefault = \"manual\"",
    );
    scratch.run(&["sync", "hubspot", "contact"]).expect(0);

    // The same field edited on both sides.
    let remote_id = sim.records("contacts")[0].id.clone();
    let tenant = TenantId::new("acme");
    let store = SqliteStore::open(scratch.db(), CredentialKey::generate().unwrap())
        .await
        .unwrap();
    let key = LinkKey {
        connection: "hubspot".into(),
        object: ObjectKind::Contact,
    };
    let link = store
        .links_by_remote(&tenant, &key, &[RecordId::new(remote_id.as_str())])
        .await
        .unwrap()
        .remove(0);
    sim.edit("contacts", &remote_id, &[("jobtitle", "Remote Title")]);
    let fields: BTreeMap<String, Value> = [("title".to_owned(), json!("Local Title"))].into();
    store
        .mirror_write(
            &tenant,
            &ObjectKind::Contact,
            vec![MirrorWrite {
                id: Some(link.local_id.clone()),
                fields,
                idempotency_key: None,
            }],
        )
        .await
        .unwrap();
    store.close().await;

    let parked = scratch
        .run(&["sync", "hubspot", "contact", "--json"])
        .expect(0)
        .json();
    assert_eq!(parked["objects"][0]["counts"]["parked"], 1, "{parked}");
    let list = scratch.run(&["review", "list", "--json"]).expect(0).json();
    let ids = pending_ids(&list, "items");
    assert_eq!(ids.len(), 1, "{list}");
    assert_eq!(list["items"][0]["fields"], json!(["title"]));
    let id = ids[0].to_string();
    let shown = scratch.run(&["review", "show", &id]).expect(0);
    assert!(
        shown.stdout.contains("Local Title") && shown.stdout.contains("Remote Title"),
        "{}",
        shown.stdout
    );

    let resolved = scratch
        .run(&[
            "review", "resolve", &id, "--take", "local", "--by", "ops", "--json",
        ])
        .expect(0)
        .json();
    assert_eq!(resolved["status"], "applied", "{resolved}");
    let title = sim
        .get("contacts", &remote_id)
        .and_then(|r| r.properties.get("jobtitle").cloned());
    assert_eq!(title.as_deref(), Some("Local Title"));
    let item = scratch
        .run(&["review", "show", &id, "--json"])
        .expect(0)
        .json();
    assert_eq!(item["status"], "applied");
    assert_eq!(item["resolved_by"], "ops");

    // Settled: the next sync has nothing to park or write.
    let quiet = scratch
        .run(&["sync", "hubspot", "contact", "--json"])
        .expect(0)
        .json();
    assert_eq!(quiet["objects"][0]["counts"]["parked"], 0, "{quiet}");
    scratch
        .run(&["review", "resolve", &id, "--take", "remote"])
        .expect(64);
    sim.shutdown().await;
}
