//! SOQL over `query` / `queryAll`: parsing, escaping, evaluation, paging.

use std::collections::BTreeSet;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn escaped_literals_match_exactly_and_never_inject() -> TestResult {
    let sim = sim(20).await?;
    let client = Client::new();
    let tricky = [
        "O'Brien",
        r"Back\slash",
        "50%_off",
        "x' OR LastName != '",
        "Tab\tbed",
    ];
    for name in tricky {
        sim.create("Contact", &[("LastName", json!(name))]);
    }
    // How a provider escapes a value for a SOQL literal.
    let escape = |v: &str| {
        v.replace('\\', r"\\")
            .replace('\'', r"\'")
            .replace('\t', r"\t")
    };
    for name in tricky {
        let soql = format!(
            "SELECT Id, LastName FROM Contact WHERE LastName = '{}'",
            escape(name)
        );
        let (status, page) = query(&client, &sim, &soql).await?;
        assert_eq!(status, StatusCode::OK, "{soql}: {page}");
        assert_eq!(page["totalSize"], 1, "{soql}: {page}");
        assert_eq!(page["records"][0]["LastName"], name);
    }
    // Unescaped, the same value is an injection that selects everything...
    let (_, page) = query(
        &client,
        &sim,
        "SELECT Id FROM Contact WHERE LastName = 'nobody' OR LastName != ''",
    )
    .await?;
    assert_eq!(page["totalSize"], 25);
    // ...and escaped it is one literal that matches only the record holding it.
    let (_, page) = query(
        &client,
        &sim,
        r"SELECT Id FROM Contact WHERE LastName = 'nobody\' OR LastName != \''",
    )
    .await?;
    assert_eq!(page["totalSize"], 0);
    // A lone quote or an unknown escape is a syntax error, not a different query.
    for bad in [
        r"SELECT Id FROM Contact WHERE LastName = 'O'Brien'",
        r"SELECT Id FROM Contact WHERE LastName = 'a\qb'",
        r"SELECT Id FROM Contact WHERE LastName = 'open",
    ] {
        let (status, body) = query(&client, &sim, bad).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_sf_error(&body, "MALFORMED_QUERY");
    }
    // LIKE: escaped wildcards are literal, bare ones match, case does not matter.
    let like = |pattern: &str| format!("SELECT Id FROM Contact WHERE LastName LIKE '{pattern}'");
    let cases = [
        (r"50\%\_off", 1),
        (r"50\%\_OFF", 1),
        (r"5_\%%", 1),
        (r"50\_%", 0),
        (r"o\'b%", 1),
        (r"back\\%", 1),
    ];
    for (pattern, expected) in cases {
        let (status, page) = query(&client, &sim, &like(pattern)).await?;
        assert_eq!(status, StatusCode::OK, "{pattern}: {page}");
        assert_eq!(page["totalSize"], expected, "LIKE '{pattern}'");
    }
    Ok(())
}

#[tokio::test]
async fn where_clauses_evaluate_like_soql() -> TestResult {
    let sim = sim(0).await?;
    let client = Client::new();
    let account = sim.create("Account", &[("Name", json!("Acme Corp"))]);
    let mk = |last: &str, email: Value, opted: bool| {
        sim.create(
            "Contact",
            &[
                ("LastName", json!(last)),
                ("Email", email),
                ("HasOptedOutOfEmail", json!(opted)),
                ("AccountId", json!(account)),
            ],
        )
    };
    let a = mk("Alpha", json!("a@x.com"), false);
    let b = mk("Beta", json!("b@y.com"), true);
    let c = mk("Gamma", Value::Null, false);
    let count = |soql: &'static str| {
        let client = client.clone();
        let sim = &sim;
        async move {
            let (status, page) = query(&client, sim, soql).await?;
            assert_eq!(status, StatusCode::OK, "{soql}: {page}");
            Ok::<_, Box<dyn std::error::Error>>(record_ids(&page))
        }
    };
    assert_eq!(
        count("SELECT Id FROM Contact WHERE Email = null").await?,
        vec![c.clone()]
    );
    assert_eq!(
        count("SELECT Id FROM Contact WHERE Email != null")
            .await?
            .len(),
        2
    );
    assert_eq!(
        count("SELECT Id FROM Contact WHERE email = 'A@X.COM'").await?,
        vec![a.clone()],
        "text compares without regard to case"
    );
    assert_eq!(
        count("SELECT Id FROM Contact WHERE HasOptedOutOfEmail = TRUE").await?,
        vec![b.clone()]
    );
    assert_eq!(
        count("SELECT Id FROM Contact WHERE LastName IN ('alpha', 'Gamma')").await?,
        [a.clone(), c.clone()]
    );
    assert_eq!(
        count("SELECT Id FROM Contact WHERE LastName NOT IN ('Alpha')").await?,
        [b.clone(), c.clone()]
    );
    assert_eq!(
        count("SELECT Id FROM Contact WHERE NOT (LastName = 'Alpha' OR LastName = 'Beta')").await?,
        vec![c.clone()]
    );
    assert_eq!(
        count("SELECT Id FROM Contact WHERE (LastName > 'Alpha' AND LastName <= 'Beta') OR Email LIKE '%@x.com'")
            .await?,
        [a.clone(), b.clone()]
    );
    assert_eq!(
        count("SELECT Id FROM Contact WHERE Account.Name = 'acme corp'")
            .await?
            .len(),
        3
    );
    assert_eq!(
        count("SELECT Id FROM Contact ORDER BY Email DESC NULLS LAST, LastName").await?,
        [b.clone(), a.clone(), c.clone()]
    );
    assert_eq!(
        count("SELECT Id FROM Contact ORDER BY Email ASC").await?,
        [c.clone(), a.clone(), b.clone()],
        "nulls sort first by default"
    );
    assert_eq!(
        count("SELECT Id FROM Contact ORDER BY LastName DESC LIMIT 1 OFFSET 1").await?,
        vec![b.clone()]
    );
    // Ids: 15 or 18 characters, any case for 18.
    let soql = format!(
        "SELECT Id FROM Contact WHERE Id IN ('{}', '{}')",
        &a[..15],
        b.to_lowercase()
    );
    let (_, page) = query(&client, &sim, &soql).await?;
    assert_eq!(record_ids(&page), [a.clone(), b.clone()]);

    // Date-times with and without fractional seconds and offsets; dates; relative dates.
    let created = sim.get("Contact", &a).ok_or("a")?.created_date;
    let before = (created - chrono::Duration::seconds(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let before_ms = (created - chrono::Duration::milliseconds(1)).format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let before_offset = (created - chrono::Duration::seconds(1))
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).ok_or("offset")?)
        .format("%Y-%m-%dT%H:%M:%S%:z");
    for literal in [
        before.to_string(),
        before_ms.to_string(),
        before_offset.to_string(),
    ] {
        let soql = format!("SELECT Id FROM Contact WHERE CreatedDate >= {literal}");
        let (status, page) = query(&client, &sim, &soql).await?;
        assert_eq!(status, StatusCode::OK, "{soql}: {page}");
        assert_eq!(page["totalSize"], 3, "{soql}");
    }
    assert_eq!(
        count(
            "SELECT Id FROM Contact WHERE CreatedDate = TODAY AND SystemModstamp = LAST_N_DAYS:1"
        )
        .await?
        .len(),
        3
    );
    let (_, page) = query(
        &client,
        &sim,
        "SELECT Id, Name, Account.Name, Account.Phone FROM Contact WHERE Id != null LIMIT 1",
    )
    .await?;
    let record = &page["records"][0];
    assert_eq!(record["Account"]["Name"], "Acme Corp");
    assert_eq!(record["Account"]["attributes"]["type"], "Account");
    assert!(record["Account"]["Phone"].is_null());
    assert_eq!(record["Name"], "Alpha");
    let (_, page) = query(
        &client,
        &sim,
        "SELECT COUNT() FROM Contact WHERE Email != null",
    )
    .await?;
    assert_eq!(
        (page["totalSize"].as_u64(), page["done"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(page["records"], json!([]));
    let (_, page) = query(&client, &sim, "SELECT COUNT(Email) total FROM Contact").await?;
    assert_eq!(page["records"][0]["total"], 2);
    assert_eq!(page["records"][0]["attributes"]["type"], "AggregateResult");
    Ok(())
}

#[tokio::test]
async fn query_errors_name_the_problem() -> TestResult {
    let sim = sim(3).await?;
    let client = Client::new();
    let cases = [
        ("SELECT Id, Bogus FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Bogus", "INVALID_TYPE"),
        ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY"),
        (
            "SELECT Id FROM Contact WHERE A = 1 AND B = 2 OR C = 3",
            "MALFORMED_QUERY",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > '2024-01-01T00:00:00Z'",
            "INVALID_FIELD",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > 2024-01-01",
            "INVALID_FIELD",
        ),
        ("SELECT Id FROM Contact WHERE LastName = 5", "INVALID_FIELD"),
        (
            "SELECT Id FROM Contact WHERE Id = 'nope'",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
        ("SELECT Id, Id FROM Contact", "MALFORMED_QUERY"),
        (
            "SELECT Id FROM Contact OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
        ),
        ("SELECT Bogus.Name FROM Contact", "INVALID_FIELD"),
    ];
    for (soql, code) in cases {
        let (status, body) = query(&client, &sim, soql).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{soql}: {body}");
        assert_sf_error(&body, code);
    }
    let (status, body) = json_of(get(&client, &sim, "/query").await?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_sf_error(&body, "MALFORMED_QUERY");
    let (status, body) =
        json_of(get(&client, &sim, "/query/01g8d00000A0001AAB-2000").await?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_sf_error(&body, "INVALID_QUERY_LOCATOR");
    Ok(())
}

#[tokio::test]
async fn five_thousand_records_page_by_two_thousand() -> TestResult {
    let sim = sim(5000).await?;
    let client = Client::new();
    let soql = "SELECT Id, Email, SystemModstamp FROM Contact";
    let (status, mut page) = query(&client, &sim, soql).await?;
    assert_eq!(status, StatusCode::OK);
    let mut ids = record_ids(&page);
    let mut sizes = vec![ids.len()];
    while page["done"] == false {
        assert_eq!(page["totalSize"], 5000);
        let next = page["nextRecordsUrl"].as_str().ok_or("nextRecordsUrl")?;
        assert!(next.starts_with("/services/data/v62.0/query/01g"), "{next}");
        // Some clients repeat `q` on the next-page call; it is ignored.
        let response = client
            .get(format!("{}{next}", sim.instance_url()))
            .query(&[("q", soql)])
            .bearer_auth(sim.access_token())
            .send()
            .await?;
        let (status, next_page) = json_of(response).await?;
        assert_eq!(status, StatusCode::OK, "{next_page}");
        page = next_page;
        let more = record_ids(&page);
        sizes.push(more.len());
        ids.extend(more);
    }
    assert_eq!(sizes, [2000, 2000, 1000]);
    assert!(page.get("nextRecordsUrl").is_none());
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 5000);
    let expected: Vec<String> = sim.records("Contact").into_iter().map(|r| r.id).collect();
    assert_eq!(ids, expected, "unordered queries come back in Id order");
    let stats = sim.stats();
    assert_eq!(stats.by_endpoint.get("query"), Some(&1));
    assert_eq!(stats.by_endpoint.get("query_more"), Some(&2));

    // batchSize lowers the page size (200 at least); a closed cursor is gone.
    let response = request(&client, &sim, Method::GET, "/query/")
        .query(&[("q", "SELECT Id FROM Contact LIMIT 450")])
        .header("Sforce-Query-Options", "batchSize=200")
        .send()
        .await?;
    let (_, first) = json_of(response).await?;
    assert_eq!(
        (first["totalSize"].as_u64(), record_ids(&first).len()),
        (Some(450), 200)
    );
    Ok(())
}

#[tokio::test]
async fn query_all_sees_the_recycle_bin() -> TestResult {
    let sim = sim(5).await?;
    let client = Client::new();
    let gone = sim.records("Contact")[0].id.clone();
    assert!(sim.delete("Contact", &gone));
    let (_, page) = query(&client, &sim, "SELECT Id FROM Contact").await?;
    assert_eq!(page["totalSize"], 4);
    for path in ["/queryAll", "/queryAll/"] {
        let response = request(&client, &sim, Method::GET, path)
            .query(&[(
                "q",
                "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true",
            )])
            .send()
            .await?;
        let (status, page) = json_of(response).await?;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(record_ids(&page), vec![gone.clone()]);
        assert_eq!(page["records"][0]["IsDeleted"], true);
    }
    let (_, page) = query(
        &client,
        &sim,
        "SELECT Id FROM Contact WHERE IsDeleted = true",
    )
    .await?;
    assert_eq!(page["totalSize"], 0, "query never returns deleted rows");
    Ok(())
}

#[tokio::test]
async fn the_oldest_of_eleven_open_cursors_is_released() -> TestResult {
    let sim = sim(300).await?;
    let client = Client::new();
    let mut next_urls = Vec::new();
    for _ in 0..11 {
        let response = request(&client, &sim, Method::GET, "/query")
            .query(&[("q", "SELECT Id FROM Contact")])
            .header("Sforce-Query-Options", "batchSize=200")
            .send()
            .await?;
        let (_, page) = json_of(response).await?;
        next_urls.push(page["nextRecordsUrl"].as_str().ok_or("next")?.to_string());
    }
    let fetch = |next: String| {
        client
            .get(format!("{}{next}", sim.instance_url()))
            .bearer_auth(sim.access_token())
            .send()
    };
    let (status, body) = json_of(fetch(next_urls[0].clone()).await?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_sf_error(&body, "INVALID_QUERY_LOCATOR");
    let (status, page) = json_of(fetch(next_urls[10].clone()).await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record_ids(&page).len(), 100);
    Ok(())
}
