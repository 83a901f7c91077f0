//! The SOQL builder as a specification: every literal escaped, injection strings
//! inert, wildcards in `LIKE` escaped, invalid names rejected.

use chrono::{NaiveDate, TimeZone, Utc};
use crmsync_core::ErrorKind;
use crmsync_salesforce::{
    Cond, Like, Soql, SoqlValue, escape_like, escape_literal, validate_identifier,
};

fn where_(cond: Cond) -> String {
    Soql::select(&["Id"])
        .from("Contact")
        .where_(cond)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_special_character_is_escaped() {
    assert_eq!(
        escape_literal("a\\b'c\"d\ne\rf\tg\u{8}h\u{c}i"),
        r#"a\\b\'c\"d\ne\rf\tg\bh\fi"#
    );
    assert_eq!(escape_literal("\u{1}"), r"\u0001");
    assert_eq!(escape_literal("Zoë 50%_"), "Zoë 50%_");
    assert_eq!(escape_like("50%_off\\'"), r"50\%\_off\\\'");
}

#[test]
fn injection_strings_stay_inside_their_literal() {
    let q = where_(Cond::eq("Name", "x' OR Name != '"));
    assert_eq!(
        q,
        r"SELECT Id FROM Contact WHERE Name = 'x\' OR Name != \''"
    );
    let q = where_(Cond::eq("Name", "\\' OR 1=1 --"));
    assert_eq!(q, r"SELECT Id FROM Contact WHERE Name = '\\\' OR 1=1 --'");
    let q = where_(Cond::in_("Email", ["a@x.io", "') OR Id != ('"]));
    assert_eq!(
        q,
        r"SELECT Id FROM Contact WHERE Email IN ('a@x.io', '\') OR Id != (\'')"
    );
    // Every quote inside a literal is escaped: the query has exactly the
    // quotes that delimit literals.
    for hostile in ["'", "\\'", "\\\\'", "'; DELETE", "\u{0}'", "%'_'"] {
        let q = where_(Cond::eq("Name", hostile));
        let body = q
            .strip_prefix("SELECT Id FROM Contact WHERE Name = '")
            .and_then(|rest| rest.strip_suffix('\''))
            .unwrap_or_else(|| panic!("literal not closed at the end: {q}"));
        assert_eq!(unescape(body), hostile, "{q}");
    }
}

/// Reads a literal body back the way SOQL does; panics on an unescaped quote.
fn unescape(body: &str) -> String {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => panic!("unescaped quote in {body}"),
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).unwrap_or(0xfffd);
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                Some(c @ ('\\' | '\'' | '"' | '%' | '_')) => out.push(c),
                other => panic!("bad escape {other:?} in {body}"),
            },
            c => out.push(c),
        }
    }
    out
}

#[test]
fn like_escapes_user_wildcards_but_keeps_its_own() {
    let q = where_(Cond::like("Name", Like::contains("100%_sure")));
    assert_eq!(q, r"SELECT Id FROM Contact WHERE Name LIKE '%100\%\_sure%'");
    let q = where_(Cond::like("Name", Like::starts_with("O'B\\")));
    assert_eq!(q, r"SELECT Id FROM Contact WHERE Name LIKE 'O\'B\\%'");
    assert_eq!(Like::ends_with("x").render(), "%x");
    assert_eq!(Like::text("a").then_text("_").one().render(), r"a\__");
}

#[test]
fn invalid_identifiers_are_rejected() {
    for bad in [
        "",
        "1Name",
        "Name FROM Contact",
        "Name,Id",
        "Id; DELETE",
        "Na'me",
        "Account.",
        ".Name",
        "Account..Name",
        "Name--",
        "_Name",
        "Name)",
        "COUNT()",
    ] {
        let err = Soql::select(&[bad]).from("Contact").build().expect_err(bad);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad}");
        assert!(Soql::select(&["Id"]).from(bad).build().is_err(), "{bad}");
        assert!(
            Soql::select(&["Id"])
                .from("Contact")
                .where_(Cond::eq(bad, 1))
                .build()
                .is_err(),
            "{bad}"
        );
        assert!(
            Soql::select(&["Id"])
                .from("Contact")
                .order_by(bad)
                .build()
                .is_err(),
            "{bad}"
        );
    }
    for good in [
        "Id",
        "External_Id__c",
        "ns__Field__c",
        "Account.Owner.Name",
        "Invoice__r.Name",
    ] {
        assert!(validate_identifier(good).is_ok(), "{good}");
    }
}

#[test]
fn values_render_as_typed_literals() {
    let at = Utc
        .with_ymd_and_hms(2024, 1, 31, 10, 0, 0)
        .single()
        .unwrap_or_default();
    let day = NaiveDate::from_ymd_opt(2024, 1, 31).unwrap_or_default();
    let q = where_(Cond::all([
        Cond::ge("SystemModstamp", at),
        Cond::eq("Birthdate", day),
        Cond::eq("IsDeleted", true),
        Cond::lt("Amount", 12.5),
        Cond::gt("NumberOfEmployees", 10),
        Cond::ne("Email", SoqlValue::Null),
    ]));
    assert_eq!(
        q,
        "SELECT Id FROM Contact WHERE (SystemModstamp >= 2024-01-31T10:00:00.000Z AND \
         Birthdate = 2024-01-31 AND IsDeleted = true AND Amount < 12.5 AND \
         NumberOfEmployees > 10 AND Email != null)"
    );
    assert!(
        Soql::select(&["Id"])
            .from("Contact")
            .where_(Cond::eq("Amount", f64::NAN))
            .build()
            .is_err()
    );
}

#[test]
fn boolean_structure_is_parenthesised() {
    let q = where_(
        Cond::gt("SystemModstamp", "a")
            .or(Cond::eq("SystemModstamp", "a").and(Cond::gt("Id", "b")))
            .not(),
    );
    assert_eq!(
        q,
        "SELECT Id FROM Contact WHERE (NOT (SystemModstamp > 'a' OR (SystemModstamp = 'a' AND Id > 'b')))"
    );
    assert!(
        Soql::select(&["Id"])
            .from("Contact")
            .where_(Cond::any([]))
            .build()
            .is_err()
    );
    assert!(
        Soql::select(&["Id"])
            .from("Contact")
            .where_(Cond::in_::<&str>("Id", []))
            .build()
            .is_err()
    );
}

#[test]
fn count_queries() {
    let q = Soql::count()
        .from("Lead")
        .where_(Cond::eq("IsDeleted", false))
        .build()
        .unwrap_or_default();
    assert_eq!(q, "SELECT COUNT() FROM Lead WHERE IsDeleted = false");
    assert!(Soql::select::<&str>(&[]).from("Lead").build().is_err());
}

#[test]
fn json_values_convert() {
    assert_eq!(
        SoqlValue::from_json(&serde_json::json!("x")).ok(),
        Some(SoqlValue::Text("x".into()))
    );
    assert_eq!(
        SoqlValue::from_json(&serde_json::json!(3)).ok(),
        Some(SoqlValue::Int(3))
    );
    assert!(SoqlValue::from_json(&serde_json::json!([1])).is_err());
}
