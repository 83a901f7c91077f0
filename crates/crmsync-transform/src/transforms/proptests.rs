//! Properties every transform keeps: no panic on any input, phone normalization is
//! idempotent, and reversible transforms round-trip the values they produce.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::{RemoteValues, TransformSpec};

/// Every built-in transform, the configurable ones with typical options, for one field.
fn every_transform() -> Vec<Arc<dyn Transform>> {
    let registry = TransformRegistry::builtin();
    let one = ["f".to_owned()];
    let two = ["a".to_owned(), "b".to_owned()];
    let mut out = Vec::new();
    for name in registry.names() {
        let (spec, local, remote): (TransformSpec, &[String], &[String]) = match name {
            "picklist_map" => (
                TransformSpec::new(name)
                    .option("map", json!({ "NEW": "Open", "OPEN": "Open", "LOST": 0 }))
                    .option("inbound", json!({ "Open": "NEW" }))
                    .option("unmapped", json!("pass_through")),
                &one,
                &one,
            ),
            "expr" => (
                TransformSpec::new(name)
                    .option("inbound", json!("upper(trim(text(value))) + len(value)"))
                    .option("outbound", json!("value.split(' ')[0]")),
                &one,
                &one,
            ),
            "default" => (
                TransformSpec::new(name).option("value", json!("x")),
                &one,
                &one,
            ),
            "split_name" => (TransformSpec::new(name), &two, &one),
            "join_name" => (TransformSpec::new(name), &one, &two),
            _ => (TransformSpec::new(name), &one, &one),
        };
        match registry.resolve(&spec, RuleShape { local, remote }) {
            Ok(t) => out.push(t),
            Err(e) => panic!("{name}: {e}"),
        }
    }
    out
}

fn envs() -> [TransformEnv; 3] {
    let us = TransformEnv::default();
    let typed = us.clone().with_remote_values(RemoteValues::Typed);
    let gb = TransformEnv::new("GB")
        .map(|e| e.with_country("Deutschland"))
        .unwrap_or_default();
    [us, typed, gb]
}

/// Any JSON value a provider might send, shallow.
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        "[0-9+() .x-]{0,30}".prop_map(Value::String),
        prop::collection::vec(".{0,10}".prop_map(Value::String), 0..4).prop_map(Value::Array),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_transform_panics_on_any_input(value in any_value()) {
        for t in every_transform() {
            for env in envs() {
                let _ = t.inbound(&value, &env);
                let _ = t.outbound(&value, &env);
            }
        }
    }

    #[test]
    fn phone_normalization_is_idempotent(text in "[+]?[0-9 ()./-]{2,24}(x[0-9]{1,4})?") {
        for region in ["US", "GB", "DE"] {
            if let Ok(e164) = normalize_phone(&text, region) {
                prop_assert_eq!(normalize_phone(&e164, region).ok(), Some(e164.clone()));
                prop_assert!(e164.starts_with('+'));
            }
        }
    }

    #[test]
    fn the_e164_fast_path_agrees_with_libphonenumber(
        code in prop_oneof![
            prop::sample::select(vec![1_u16, 44, 49, 33, 39, 61, 81, 86, 91, 55, 800, 7, 353]),
            1_u16..999,
        ],
        national in "[0-9]{4,12}",
        spaced in any::<bool>(),
    ) {
        let text = if spaced { format!("+{code} {national}") } else { format!("+{code}{national}") };
        let parsed = phonenumber::parse(None, &text).ok();
        if let Some(parsed) = &parsed {
            let ours = super::phone_rules::is_valid(parsed.code().value(), &parsed.national().to_string());
            prop_assert_eq!(ours, parsed.is_valid(), "{}", text);
        }
        if let Some(fast) = super::phone_rules::fast_e164(&text) {
            let slow = parsed
                .filter(|p| p.is_valid())
                .map(|p| p.format().mode(phonenumber::Mode::E164).to_string());
            prop_assert_eq!(Some(fast), slow, "{}", text);
        }
    }

    #[test]
    fn phone_normalization_never_panics(text in ".{0,300}") {
        let _ = normalize_phone(&text, "US");
    }

    #[test]
    fn valid_phone_numbers_round_trip(
        area in 201_u32..989,
        line in 2_000_000_u32..9_999_999,
        ext in prop::option::of(1_u32..9999),
    ) {
        let text = match ext {
            Some(ext) => format!("({area}) {} ext. {ext}", line),
            None => format!("{area}-{line}"),
        };
        let env = TransformEnv::default();
        if let Ok(canonical) = PhoneE164.inbound(&json!(text), &env) {
            let remote = PhoneE164.outbound(&canonical, &env).ok();
            prop_assert_eq!(remote.as_ref(), Some(&canonical));
            let back = PhoneE164.inbound(&canonical, &env).ok();
            prop_assert_eq!(back, Some(canonical));
        }
    }

    #[test]
    fn decimals_round_trip_exactly(
        whole in -999_999_999_i64..999_999_999,
        fraction in 0_u32..100_000,
        digits in 0_usize..6,
    ) {
        let fraction = format!("{fraction:05}");
        let text = if digits == 0 {
            whole.to_string()
        } else {
            format!("{whole}.{}", &fraction[..digits])
        };
        for env in envs() {
            round_trip(&Decimal, &env, &json!(text))?;
        }
        prop_assert_eq!(normalize_decimal(&text).ok(), normalize_decimal(&normalize_decimal(&text).unwrap_or_default()).ok());
    }

    #[test]
    fn cents_and_durations_round_trip(cents in -10_000_000_000_i64..10_000_000_000) {
        for env in envs() {
            round_trip(&CurrencyCents, &env, &json!(cents))?;
            round_trip(&DurationMs, &env, &json!(cents.unsigned_abs()))?;
            round_trip(&Integer, &env, &json!(cents))?;
        }
        // Dollars in, cents out, exactly.
        let dollars = format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
        prop_assert_eq!(CurrencyCents.inbound(&json!(dollars), &TransformEnv::default()).ok(), Some(json!(cents)));
    }

    #[test]
    fn instants_round_trip(ms in -2_000_000_000_000_i64..4_000_000_000_000) {
        let sfdc = DateSfdc::default();
        for env in envs() {
            round_trip(&EpochMs, &env, &json!(ms))?;
            round_trip(&DateTimeIso, &env, &json!(ms.to_string()))?;
            round_trip(&DateIso, &env, &json!(ms))?;
            round_trip(&sfdc, &env, &json!(ms))?;
        }
    }

    #[test]
    fn booleans_round_trip(b in any::<bool>(), word in prop::sample::select(vec!["Y", "n", "true", "0", "on", "checked"])) {
        for env in envs() {
            for t in [&Boolean as &dyn Transform, &BooleanYn, &BooleanCheckbox] {
                round_trip(t, &env, &json!(b))?;
                round_trip(t, &env, &json!(word))?;
            }
        }
    }

    #[test]
    fn names_and_domains_round_trip(
        words in prop::collection::vec("[A-Za-zÀ-ÿ'-]{1,12}", 1..4),
        host in "[a-z][a-z0-9-]{0,20}\\.(com|co\\.uk|io|de)",
    ) {
        let env = TransformEnv::default();
        round_trip(&SplitName, &env, &json!(words.join("  ")))?;
        let (first, last) = words.split_at(words.len() - 1);
        round_trip(&JoinName, &env, &json!([first.join(" "), last.join(" ")]))?;
        round_trip(&UrlDomain, &env, &json!(format!("https://www.{host}/about")))?;
        round_trip(&Email, &env, &json!(format!(" {}@{host} ", words.join("."))))?;
    }

    #[test]
    fn expressions_never_panic(source in ".{0,60}", value in any_value()) {
        if let Ok(expr) = Expr::parse(&source) {
            let _ = expr.eval(&value);
        }
    }

    #[test]
    fn generated_expressions_evaluate_within_budget(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "upper(value)", "len(value)", "concat(value, value)", "trim(value)",
                "value.split(' ')[0]", "coalesce(value, 'x')", "number(len(value)) * 2",
                "replace(value, 'a', 'bb')", "if(is_blank(value), 1, 2)",
            ]),
            1..6,
        ),
        value in ".{0,200}",
    ) {
        let source = parts.join(" + ");
        let expr = Expr::parse(&source);
        prop_assert!(expr.is_ok(), "{}", source);
        if let Ok(expr) = expr {
            let _ = expr.eval(&json!(value));
        }
    }

    #[test]
    fn mapping_configs_never_panic(text in ".{0,200}") {
        let _ = crate::MappingConfig::from_toml_str(&text).and_then(crate::DeclarativeMapper::new);
        let _ = crate::MappingConfig::from_json_str(&text).and_then(crate::DeclarativeMapper::new);
    }
}

/// `inbound(outbound(c)) == c` for `c = inbound(remote)`, when `remote` reads at all.
fn round_trip(t: &dyn Transform, env: &TransformEnv, remote: &Value) -> Result<(), TestCaseError> {
    let Ok(canonical) = t.inbound(remote, env) else {
        return Ok(());
    };
    let written = t.outbound(&canonical, env);
    prop_assert!(
        written.is_ok(),
        "{}: outbound({}) failed: {:?}",
        t.name(),
        canonical,
        written
    );
    let written = written.unwrap_or_default();
    let back = t.inbound(&written, env);
    prop_assert_eq!(
        back.ok(),
        Some(canonical.clone()),
        "{}: {} → {} → {}",
        t.name(),
        remote,
        canonical,
        written
    );
    Ok(())
}

#[test]
fn the_picklist_options_used_above_are_valid() {
    let options: Map<String, Value> = Map::new();
    assert!(
        PicklistFactory
            .build(
                &options,
                RuleShape {
                    local: &["f".to_owned()],
                    remote: &["f".to_owned()]
                }
            )
            .is_err()
    );
    assert_eq!(
        every_transform().len(),
        TransformRegistry::builtin().names().count()
    );
}
