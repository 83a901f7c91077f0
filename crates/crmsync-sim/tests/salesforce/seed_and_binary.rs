//! Seeded data (determinism, realism) and the standalone binary.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use crmsync_sim::{SalesforceSim, SalesforceSimConfig};
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::common::*;

/// ISO 3166 codes of the seeded countries.
fn region(country: &str) -> Option<&'static str> {
    Some(match country {
        "United States" => "US",
        "United Kingdom" => "GB",
        "Germany" => "DE",
        "France" => "FR",
        "Canada" => "CA",
        "Australia" => "AU",
        "Netherlands" => "NL",
        "Spain" => "ES",
        _ => return None,
    })
}

fn valid_phone(number: &str, country: &str) -> bool {
    let id = region(country).and_then(|r| r.parse::<phonenumber::country::Id>().ok());
    phonenumber::parse(id, number).is_ok_and(|n| phonenumber::is_valid(&n))
}

#[tokio::test]
async fn same_seed_gives_the_same_org() -> TestResult {
    let at: DateTime<Utc> = "2026-01-15T12:00:00Z".parse()?;
    let config = SalesforceSimConfig {
        leads: 150,
        contacts: 400,
        accounts: 60,
        opportunities: 80,
        tasks: 50,
        seed: 9,
        seed_time: Some(at),
        ..Default::default()
    };
    let a = SalesforceSim::start(config.clone()).await?;
    let b = SalesforceSim::start(config.clone()).await?;
    let c = SalesforceSim::start(SalesforceSimConfig { seed: 10, ..config }).await?;
    for object in ["Account", "Contact", "Lead", "Opportunity", "Task"] {
        assert_eq!(a.records(object), b.records(object), "{object}");
        assert_ne!(a.records(object), c.records(object), "{object}");
    }
    assert_eq!(a.client_id(), b.client_id());
    assert_eq!(a.refresh_token(), b.refresh_token());

    let prefixes = [
        ("Account", "001", 60),
        ("Contact", "003", 400),
        ("Lead", "00Q", 150),
        ("Opportunity", "006", 80),
        ("Task", "00T", 50),
    ];
    for (object, prefix, n) in prefixes {
        let records = a.records(object);
        assert_eq!(records.len(), n, "{object}");
        assert!(
            records
                .iter()
                .all(|r| r.id.len() == 18 && r.id.starts_with(prefix))
        );
        let stamps: BTreeSet<_> = records.iter().map(|r| r.system_modstamp).collect();
        assert_eq!(
            stamps.len(),
            n,
            "{object}: SystemModstamp values are distinct"
        );
        assert!(records.iter().all(|r| r.system_modstamp <= at
            && r.created_date >= at - chrono::Duration::days(30)
            && r.last_modified_date == r.system_modstamp));
    }

    let accounts: BTreeMap<String, Value> = a
        .records("Account")
        .into_iter()
        .map(|r| (r.id.clone(), r.fields["BillingCountry"].clone()))
        .collect();
    let mut emails = BTreeSet::new();
    let mut linked = 0;
    let mut invalid = Vec::new();
    for (object, country_field) in [("Contact", "MailingCountry"), ("Lead", "Country")] {
        for r in a.records(object) {
            let country = r.str(country_field).ok_or("country")?.to_string();
            if let Some(email) = r.str("Email") {
                assert_eq!(email, email.to_lowercase());
                assert!(emails.insert(email.to_string()), "duplicate email {email}");
            }
            for field in ["Phone", "MobilePhone"] {
                if let Some(p) = r.str(field) {
                    if !valid_phone(p, &country) {
                        invalid.push(format!("{country} {p}"));
                    }
                }
            }
            if let Some(account) = r.str("AccountId") {
                assert!(accounts.contains_key(account));
                linked += 1;
            }
        }
    }
    for r in a.records("Account") {
        let country = r.str("BillingCountry").ok_or("country")?.to_string();
        if let Some(p) = r.str("Phone") {
            if !valid_phone(p, &country) {
                invalid.push(format!("{country} {p}"));
            }
        }
    }
    assert!(invalid.is_empty(), "invalid phones: {invalid:#?}");
    assert!(
        linked > 300,
        "most contacts belong to an account ({linked})"
    );
    let opportunities = a.records("Opportunity");
    assert!(opportunities.iter().all(|o| {
        o.str("AccountId")
            .is_some_and(|id| accounts.contains_key(id))
    }));
    assert!(
        opportunities
            .iter()
            .all(|o| o.str("CloseDate").is_some_and(|d| d.len() == 10))
    );
    let tasks = a.records("Task");
    assert!(
        tasks
            .iter()
            .all(|t| t.str("WhoId").is_some_and(|w| w.starts_with("003")))
    );
    assert!(
        a.records("Lead")
            .iter()
            .all(|l| l.str("Status").is_some() && l.str("Company").is_some())
    );
    Ok(())
}

#[tokio::test]
async fn binary_prints_credentials_and_serves() -> TestResult {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_crmsync-sim"))
        .args([
            "salesforce",
            "--port",
            "0",
            "--leads",
            "4",
            "--contacts",
            "25",
            "--accounts",
            "3",
            "--opportunities",
            "2",
            "--seed",
            "5",
            "--daily-limit",
            "500",
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
        assert_eq!(info["provider"], "salesforce");
        assert_eq!(info["api_version"], "62.0");
        for key in [
            "login_url",
            "instance_url",
            "access_token",
            "refresh_token",
            "client_id",
            "client_secret",
            "username",
            "jwt_private_key_pem",
        ] {
            assert!(info[key].as_str().is_some_and(|v| !v.is_empty()), "{key}");
        }
        let field = |k: &str| info[k].as_str().unwrap_or_default().to_string();
        let client = Client::new();
        let response = client
            .get(format!(
                "{}/services/data/v62.0/query",
                field("instance_url")
            ))
            .query(&[("q", "SELECT Id, Name FROM Contact")])
            .bearer_auth(field("access_token"))
            .send()
            .await?;
        assert_eq!(response.headers()["sforce-limit-info"], "api-usage=1/500");
        let (status, page) = json_of(response).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["totalSize"], 25);
        let token_url = format!("{}/services/oauth2/token", field("login_url"));
        let refresh = [
            ("grant_type", "refresh_token".to_string()),
            ("client_id", field("client_id")),
            ("client_secret", field("client_secret")),
            ("refresh_token", field("refresh_token")),
        ];
        assert_eq!(
            client
                .post(&token_url)
                .form(&refresh)
                .send()
                .await?
                .status(),
            StatusCode::OK
        );
        let claims = serde_json::json!({
            "iss": field("client_id"), "sub": field("username"), "aud": field("login_url"),
            "exp": Utc::now().timestamp() + 60,
        });
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(field("jwt_private_key_pem").as_bytes())?;
        let jwt = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &key,
        )?;
        let form = [
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string(),
            ),
            ("assertion", jwt),
        ];
        assert_eq!(
            client.post(&token_url).form(&form).send().await?.status(),
            StatusCode::OK
        );
        Ok(())
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result?;

    let status = Command::new(env!("CARGO_BIN_EXE_crmsync-sim"))
        .args(["salesforce", "--contacts", "many"])
        .stderr(Stdio::null())
        .status()?;
    assert_eq!(status.code(), Some(64));
    Ok(())
}
