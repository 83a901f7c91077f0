mod common;
use crmsync_store::{CredentialKey, PostgresStore};
use crmsync_core::testkit::store as kit;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbg_runs() {
    let url = common::postgres_url().unwrap();
    let schema = common::random_schema("dbg");
    let store = PostgresStore::connect_with_schema(&url, &schema, CredentialKey::generate().unwrap()).await.unwrap();
    kit::runs_history_round_trip(&store).await;
    eprintln!("runs alone ok");
    kit::commit_page_is_atomic_and_stores_checkpoint(&store).await;
    eprintln!("atomic ok");
    kit::runs_history_round_trip(&store).await;
    eprintln!("runs after atomic ok");
}
