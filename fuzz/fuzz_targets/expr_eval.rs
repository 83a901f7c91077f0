//! The `expr` transform's language: any source either fails to parse with a column, or
//! evaluates (within its budget) on any value without panicking.

#![no_main]

use crmsync_transform::transforms::Expr;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line is the expression, the rest the value it runs on.
    let (source, value) = text.split_once('\n').unwrap_or((text, ""));
    match Expr::parse(source) {
        Ok(expr) => {
            for input in [json!(value), json!(value.len()), json!([value, null]), json!(null)] {
                let _ = expr.eval(&input);
            }
        }
        Err(err) => assert!(err.column() >= 1),
    }
});
