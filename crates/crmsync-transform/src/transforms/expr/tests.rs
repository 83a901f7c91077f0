use super::*;
use serde_json::json;

fn eval(source: &str, value: Value) -> Result<Value, String> {
    let expr = Expr::parse(source).map_err(|e| e.to_string())?;
    expr.eval(&value).map_err(|e| e.to_string())
}

fn parse_error(source: &str) -> ExprError {
    match Expr::parse(source) {
        Ok(e) => panic!("{source:?} parsed as {e:?}"),
        Err(e) => e,
    }
}

#[test]
fn string_functions() {
    for (source, input, expected) in [
        ("upper(trim(value))", json!("  de "), json!("DE")),
        ("lower(value)", json!("ÉCOLE"), json!("école")),
        ("len(value)", json!("äöü"), json!(3)),
        ("len(value)", json!(null), json!(0)),
        ("concat(value, '-', 1, true)", json!("a"), json!("a-1true")),
        (
            "replace(value, '.', '')",
            json!("1.650.253"),
            json!("1650253"),
        ),
        ("substr(value, 1, 3)", json!("Lovelace"), json!("ove")),
        ("substr(value, -4)", json!("Lovelace"), json!("lace")),
        ("substr(value, 99)", json!("Ada"), json!("")),
        (
            "value.split(' ')[0]",
            json!("Ada King Lovelace"),
            json!("Ada"),
        ),
        (
            "value.split(' ')[-1]",
            json!("Ada King Lovelace"),
            json!("Lovelace"),
        ),
        ("get(split(value, ','), 5)", json!("a,b"), json!(null)),
        (
            "join(split(value, ' '), '_')",
            json!("a b c"),
            json!("a_b_c"),
        ),
        ("starts_with(value, 'Mr')", json!("Mr Smith"), json!(true)),
        ("value.ends_with('c')", json!("__c"), json!(true)),
        ("contains(value, 'x')", json!("abc"), json!(false)),
        (
            "contains(split(value, ','), 'b')",
            json!("a,b"),
            json!(true),
        ),
        ("is_blank(value)", json!("  "), json!(true)),
        ("text(value)", json!(42), json!("42")),
        ("value + '!'", json!("hi"), json!("hi!")),
        ("'It\\'s ' + \"ok\"", json!(null), json!("It's ok")),
    ] {
        assert_eq!(
            eval(source, input.clone()),
            Ok(expected),
            "{source} on {input}"
        );
    }
}

#[test]
fn conditions_and_numbers() {
    for (source, input, expected) in [
        ("if(eq(value, 'Y'), true, false)", json!("Y"), json!(true)),
        ("if(value == 'Y', 'yes', 'no')", json!("N"), json!("no")),
        ("coalesce(value, 'unknown')", json!(""), json!("unknown")),
        ("coalesce(null, value)", json!(7), json!(7)),
        ("number(value) * 100", json!("12.5"), json!(1250)),
        ("value / 1000", json!(342_500), json!(342.5)),
        ("value % 7", json!(23), json!(2)),
        ("round(value, 2)", json!(2.345_67), json!(2.35)),
        ("floor(value) + ceil(value)", json!(1.5), json!(3)),
        ("abs(-value)", json!(4), json!(4)),
        ("min(value, 10, 3)", json!(5), json!(3)),
        ("max(value, 10)", json!("50"), json!(50)),
        ("value == 42", json!("42"), json!(true)),
        ("value != 1.0", json!(1), json!(false)),
        ("value < 'b'", json!("a"), json!(true)),
        ("value >= 18 && value < 65", json!(30), json!(true)),
        ("!value || false", json!(""), json!(true)),
        ("-(1 + 2) * 3", json!(null), json!(-9)),
        ("1 + 2 * 3 - 4 / 2", json!(null), json!(5)),
        ("value[1]", json!(["Ada", "Lovelace"]), json!("Lovelace")),
        (
            "concat(value[0], ' ', value[1])",
            json!(["Ada", "Lovelace"]),
            json!("Ada Lovelace"),
        ),
    ] {
        assert_eq!(
            eval(source, input.clone()),
            Ok(expected),
            "{source} on {input}"
        );
    }
}

#[test]
fn if_and_coalesce_evaluate_only_what_they_need() {
    // The branch not taken would fail (division by zero).
    assert_eq!(eval("if(true, 1, 1 / 0)", json!(null)), Ok(json!(1)));
    assert_eq!(eval("coalesce(value, 1 / 0)", json!("x")), Ok(json!("x")));
    assert_eq!(eval("false && 1 / 0", json!(null)), Ok(json!(false)));
}

#[test]
fn runtime_errors_name_the_problem_not_the_value() {
    for (source, input, expected) in [
        ("value / 0", json!(5), "division by zero"),
        (
            "number(value)",
            json!("secret-ish"),
            "expected a number, got text",
        ),
        ("replace(value, '', 'x')", json!("a"), "needs text to find"),
        ("upper(value)", json!([1]), "expected text, got a list"),
        ("value[0]", json!("abc"), "only a list can be indexed"),
        (
            "substr(value, 1.5)",
            json!("abc"),
            "expected a whole number",
        ),
    ] {
        let err = eval(source, input).err().unwrap_or_default();
        assert!(err.contains(expected), "{source}: {err}");
        assert!(!err.contains("secret"), "{err}");
    }
}

#[test]
fn budgets_stop_runaway_evaluations() {
    let big = json!("x".repeat(200_000));
    // Text may not grow past the cap, however it is built.
    let err = eval("concat(value, value)", big.clone())
        .err()
        .unwrap_or_default();
    assert!(err.contains("longer than"), "{err}");
    let err = eval("replace(value, 'x', 'yyyyyyyy')", big)
        .err()
        .unwrap_or_default();
    assert!(err.contains("longer than"), "{err}");
    // Many doublings run out of steps or size, never memory.
    let mut source = "value".to_owned();
    for _ in 0..40 {
        source = format!("concat({source}, {source})");
        if source.len() > MAX_SOURCE / 2 {
            break;
        }
    }
    let result = eval(&source, json!("abcdefgh"));
    assert!(result.is_err() || result.is_ok(), "terminates");
    let sum = (0..150)
        .map(|_| "len(value)")
        .collect::<Vec<_>>()
        .join(" + ");
    let err = eval(&sum, json!("y".repeat(10_000)))
        .err()
        .unwrap_or_default();
    assert!(err.contains("steps"), "{err}");
}

#[test]
fn parse_errors_give_a_column_and_a_fix() {
    let e = parse_error("upper(value");
    assert!(e.message().contains("expected `,` or `)`"), "{e}");
    assert_eq!(e.column(), 12);
    let e = parse_error("uper(value)");
    assert!(e.message().contains("unknown function `uper`") && e.message().contains("upper"));
    assert_eq!(e.column(), 1);
    let e = parse_error("trim(value, 1)");
    assert!(
        e.message().contains("`trim` takes 1 arguments, got 2"),
        "{e}"
    );
    let e = parse_error("name");
    assert!(e.message().contains("the field's value is `value`"), "{e}");
    let e = parse_error("'open");
    assert!(e.message().contains("not closed"), "{e}");
    let e = parse_error("value $ 1");
    assert!(e.message().contains("unexpected character `$`"), "{e}");
    assert_eq!(e.column(), 7);
    let e = parse_error("value value");
    assert!(e.message().contains("after the expression"), "{e}");
    let e = parse_error("");
    assert!(e.message().contains("ends too soon"), "{e}");
    let e = parse_error(&"(".repeat(100));
    assert!(e.message().contains("nests deeper"), "{e}");
    let e = parse_error(&"!".repeat(100));
    assert!(e.message().contains("nests deeper"), "{e}");
    let e = parse_error(&vec!["1"; 600].join("+"));
    assert!(e.message().contains("more than"), "{e}");
    let e = parse_error(&"x".repeat(MAX_SOURCE + 1));
    assert!(e.message().contains("longer than"), "{e}");
    assert_eq!(e.to_string(), format!("at column 1: {}", e.message()));
}

#[test]
fn the_factory_compiles_expressions_once_and_sets_the_direction() {
    let one = ["f".to_owned()];
    let shape = RuleShape {
        local: &one,
        remote: &one,
    };
    let options = |v: Value| match v {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let both = ExprFactory.build(
        &options(json!({ "inbound": "upper(trim(value))", "outbound": "lower(value)" })),
        shape,
    );
    let both = match both {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let env = TransformEnv::default();
    assert_eq!(both.direction(), FieldDirection::Bidirectional);
    assert_eq!(both.inbound(&json!(" de "), &env).ok(), Some(json!("DE")));
    assert_eq!(both.outbound(&json!("DE"), &env).ok(), Some(json!("de")));

    let inbound_only = ExprFactory.build(&options(json!({ "inbound": "trim(value)" })), shape);
    let inbound_only = match inbound_only {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(inbound_only.direction(), FieldDirection::Inbound);
    assert!(inbound_only.outbound(&json!("x"), &env).is_err());

    for (bad, expected) in [
        (json!({}), "needs an `inbound` or `outbound`"),
        (
            json!({ "inbound": "upper(" }),
            "`inbound` expression does not parse at column",
        ),
        (json!({ "outbound": 5 }), "must be an expression"),
        (
            json!({ "inbound": "value", "lang": "js" }),
            "unknown option `lang`",
        ),
    ] {
        let err = ExprFactory
            .build(&options(bad.clone()), shape)
            .err()
            .unwrap_or_default();
        assert!(err.contains(expected), "{bad}: {err}");
    }
}
