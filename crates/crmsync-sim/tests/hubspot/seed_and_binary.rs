//! Seeded data determinism, remote edits and the standalone binary.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use crmsync_sim::{HubSpotSim, HubSpotSimConfig};
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn same_seed_gives_the_same_data() -> TestResult {
    let at: DateTime<Utc> = "2026-01-15T12:00:00Z".parse()?;
    let config = HubSpotSimConfig {
        contacts: 300,
        companies: 40,
        deals: 60,
        seed: 9,
        seed_time: Some(at),
        ..Default::default()
    };
    let a = HubSpotSim::start(config.clone()).await?;
    let b = HubSpotSim::start(config.clone()).await?;
    let c = HubSpotSim::start(HubSpotSimConfig { seed: 10, ..config }).await?;
    for object in ["contacts", "companies", "deals"] {
        assert_eq!(a.records(object), b.records(object), "{object}");
        assert_ne!(a.records(object), c.records(object), "{object}");
    }
    let contacts = a.records("contacts");
    let emails: Vec<&String> = contacts
        .iter()
        .filter_map(|r| r.properties.get("email"))
        .collect();
    assert!(emails.iter().all(|e| e.as_str() == e.to_lowercase()));
    assert_eq!(
        emails.iter().collect::<BTreeSet<_>>().len(),
        emails.len(),
        "emails are unique"
    );
    let updated: BTreeSet<_> = contacts.iter().map(|r| r.updated_at).collect();
    assert_eq!(
        updated.len(),
        contacts.len(),
        "updatedAt values are distinct"
    );
    assert!(
        contacts
            .iter()
            .all(|r| r.updated_at <= at && r.created_at >= at - chrono::Duration::days(30))
    );
    assert!(
        contacts
            .iter()
            .any(|r| r.associations.contains_key("companies"))
    );
    Ok(())
}

#[tokio::test]
async fn binary_prints_credentials_and_serves() -> TestResult {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_crmsync-sim"))
        .args([
            "hubspot",
            "--port",
            "0",
            "--contacts",
            "25",
            "--companies",
            "3",
            "--deals",
            "4",
            "--seed",
            "5",
            "--rate-limit-10s",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("stdout")?;
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await??;
    let result: TestResult = async {
        let info: Value = serde_json::from_str(&line)?;
        assert_eq!(info["provider"], "hubspot");
        let base = info["base_url"].as_str().ok_or("base_url")?;
        let client = Client::new();
        for key in ["access_token", "private_app_token"] {
            let response = client
                .get(format!("{base}/crm/v3/objects/contacts?limit=100"))
                .bearer_auth(info[key].as_str().ok_or("token")?)
                .send()
                .await?;
            let (status, body) = json_of(response).await?;
            assert_eq!(status, StatusCode::OK, "{key}");
            assert_eq!(body["results"].as_array().map(Vec::len), Some(25));
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", info["client_id"].as_str().ok_or("client_id")?),
            (
                "client_secret",
                info["client_secret"].as_str().ok_or("client_secret")?,
            ),
            (
                "refresh_token",
                info["refresh_token"].as_str().ok_or("refresh_token")?,
            ),
        ];
        let token_url = info["token_url"].as_str().ok_or("token_url")?;
        assert_eq!(
            client.post(token_url).form(&form).send().await?.status(),
            StatusCode::OK
        );
        Ok(())
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result?;

    let status = Command::new(env!("CARGO_BIN_EXE_crmsync-sim"))
        .args(["hubspot", "--contacts", "many"])
        .stderr(Stdio::null())
        .status()?;
    assert_eq!(status.code(), Some(64));
    Ok(())
}
