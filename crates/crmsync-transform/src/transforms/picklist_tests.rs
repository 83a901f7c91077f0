use super::*;
use crate::transforms::testing::assert_round_trips;
use serde_json::json;

fn env() -> TransformEnv {
    TransformEnv::default()
}

fn build(options: Value, remote: &[&str]) -> Result<Picklist, String> {
    let options = match options {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let local = ["x".to_owned()];
    let remote: Vec<String> = remote.iter().map(|s| (*s).to_owned()).collect();
    Picklist::from_options(
        &options,
        RuleShape {
            local: &local,
            remote: &remote,
        },
    )
}

fn lead_status() -> Result<Picklist, String> {
    build(
        json!({
            "map": {
                "NEW": "Open - Not Contacted",
                "OPEN": "Open - Not Contacted",
                "IN_PROGRESS": "Working - Contacted",
                "CONNECTED": "Working - Contacted",
                "OPEN_DEAL": "Closed - Converted",
                "UNQUALIFIED": "Closed - Not Converted",
            },
            "inbound": {
                "Open - Not Contacted": "NEW",
                "Working - Contacted": "IN_PROGRESS",
            },
            "unmapped": "error",
        }),
        &["Status"],
    )
}

#[test]
fn a_one_to_one_map_works_both_ways() -> Result<(), String> {
    let t = build(
        json!({ "map": { "Connected": "Connected", "Voicemail": "Left Voicemail", "DNC": "Do Not Call" } }),
        &["CallDisposition"],
    )?;
    assert_eq!(t.direction(), FieldDirection::Bidirectional);
    assert_eq!(
        t.outbound(&json!("Voicemail"), &env()).ok(),
        Some(json!("Left Voicemail"))
    );
    assert_eq!(
        t.inbound(&json!("Do Not Call"), &env()).ok(),
        Some(json!("DNC"))
    );
    let err = t.inbound(&json!("Busy"), &env()).err();
    assert!(
        err.as_ref()
            .is_some_and(|e| e.message().contains("not in the picklist map")
                && !e.message().contains("Busy")),
        "{err:?}"
    );
    assert!(t.outbound(&json!("Busy"), &env()).is_err());
    assert_round_trips(&t, &env(), &[json!("Connected"), json!("Left Voicemail")]);
    Ok(())
}

#[test]
fn a_many_to_one_map_needs_inbound_entries_to_read_back() -> Result<(), String> {
    let t = lead_status()?;
    assert_eq!(t.direction(), FieldDirection::Bidirectional);
    assert_eq!(
        t.outbound(&json!("CONNECTED"), &env()).ok(),
        Some(json!("Working - Contacted"))
    );
    assert_eq!(
        t.inbound(&json!("Working - Contacted"), &env()).ok(),
        Some(json!("IN_PROGRESS"))
    );
    assert_eq!(
        t.inbound(&json!("Closed - Converted"), &env()).ok(),
        Some(json!("OPEN_DEAL"))
    );
    assert!(t.inbound(&json!("Nurturing"), &env()).is_err());
    let remote = [
        "Open - Not Contacted",
        "Working - Contacted",
        "Closed - Converted",
        "Closed - Not Converted",
    ]
    .map(|s| json!(s));
    assert_round_trips(&t, &env(), &remote);

    // Without `inbound`, `Open - Not Contacted` could be NEW or OPEN: outbound only.
    let one_way = build(
        json!({ "map": { "NEW": "Open", "OPEN": "Open", "LOST": "Closed" } }),
        &["Status"],
    )?;
    assert_eq!(one_way.direction(), FieldDirection::Outbound);
    Ok(())
}

#[test]
fn unmapped_values_follow_the_policy() -> Result<(), String> {
    let pass = build(
        json!({ "map": { "A": "a" }, "unmapped": "pass_through" }),
        &["f"],
    )?;
    assert_eq!(pass.inbound(&json!("zzz"), &env()).ok(), Some(json!("zzz")));
    assert_eq!(
        pass.outbound(&json!("ZZZ"), &env()).ok(),
        Some(json!("ZZZ"))
    );
    assert_round_trips(&pass, &env(), &[json!("zzz"), json!("a")]);

    let fallback = build(
        json!({ "map": { "NEW": "Open", "LOST": "Closed" }, "unmapped": "default", "default": "NEW" }),
        &["Status"],
    )?;
    assert_eq!(
        fallback.inbound(&json!("Nurturing"), &env()).ok(),
        Some(json!("NEW"))
    );
    assert_eq!(
        fallback.outbound(&json!("WHATEVER"), &env()).ok(),
        Some(json!("Open"))
    );
    assert_round_trips(&fallback, &env(), &[json!("Nurturing"), json!("Closed")]);
    Ok(())
}

#[test]
fn several_remote_fields_are_written_and_matched_together() -> Result<(), String> {
    let t = build(
        json!({ "map": {
            "Connected": { "CallDisposition": "Connected", "Status": "Completed" },
            "Voicemail": { "CallDisposition": "Left Voicemail", "Status": "Completed" },
            "Callback": ["Call Back", "Not Started"],
        } }),
        &["CallDisposition", "Status"],
    )?;
    assert_eq!(
        t.arity(),
        Arity {
            local: 1,
            remote: 2
        }
    );
    assert_eq!(
        t.outbound(&json!("Voicemail"), &env()).ok(),
        Some(json!(["Left Voicemail", "Completed"]))
    );
    assert_eq!(
        t.inbound(&json!(["Call Back", "Not Started"]), &env()).ok(),
        Some(json!("Callback"))
    );
    assert!(t.inbound(&json!(["Connected", null]), &env()).is_err());
    assert!(t.inbound(&json!("Connected"), &env()).is_err());
    assert_round_trips(&t, &env(), &[json!(["Connected", "Completed"])]);
    Ok(())
}

#[test]
fn numbers_and_booleans_are_provider_values_too() -> Result<(), String> {
    let t = build(
        json!({ "map": { "HOT": 3, "WARM": 2, "YES": true } }),
        &["Rating__c"],
    )?;
    assert_eq!(t.outbound(&json!("HOT"), &env()).ok(), Some(json!(3)));
    assert_eq!(t.inbound(&json!(2), &env()).ok(), Some(json!("WARM")));
    assert_eq!(t.inbound(&json!(true), &env()).ok(), Some(json!("YES")));
    Ok(())
}

#[test]
fn bad_options_say_what_to_fix() {
    for (options, remote, expected) in [
        (json!({}), &["f"][..], "needs a `map`"),
        (json!({ "map": {} }), &["f"][..], "`map` is empty"),
        (
            json!({ "map": { "A": "a" }, "unmapped": "ignore" }),
            &["f"][..],
            "`unmapped` must be",
        ),
        (
            json!({ "map": { "A": "a" }, "unmapped": "default" }),
            &["f"][..],
            "needs `default`",
        ),
        (
            json!({ "map": { "A": "a" }, "unmapped": "default", "default": "B" }),
            &["f"][..],
            "not a key of `map`",
        ),
        (
            json!({ "map": { "A": "a" }, "default": "A" }),
            &["f"][..],
            "only with `unmapped",
        ),
        (
            json!({ "map": { "A": ["a"] } }),
            &["f"][..],
            "give text, a number or a boolean",
        ),
        (
            json!({ "map": { "A": { "x": 1 } } }),
            &["f", "g"][..],
            "not one of the rule's remote",
        ),
        (
            json!({ "map": { "A": { "f": 1 } } }),
            &["f", "g"][..],
            "no value for `g`",
        ),
        (
            json!({ "map": { "A": "a" }, "unmapped": "pass_through" }),
            &["f", "g"][..],
            "needs one remote field",
        ),
        (
            json!({ "map": { "A": "a" }, "inbound": { "a": "B" } }),
            &["f"][..],
            "does not list",
        ),
        (
            json!({ "map": { "A": "a", "B": "b" }, "inbound": { "a": "B" } }),
            &["f"][..],
            "make them agree",
        ),
        (
            json!({ "map": { "A": "a" }, "maps": {} }),
            &["f"][..],
            "unknown option `maps`",
        ),
    ] {
        let err = build(options.clone(), remote).err().unwrap_or_default();
        assert!(err.contains(expected), "{options}: {err}");
    }
}
