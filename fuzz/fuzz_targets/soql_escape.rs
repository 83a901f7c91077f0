//! SOQL literal escaping: any text a record holds, escaped by the Salesforce provider's
//! query builder and embedded in a query, is decoded by the simulator's SOQL parser (which
//! decodes literals exactly as Salesforce does) back to the same text, and never breaks
//! out of its literal: the query keeps exactly the literals it was built with.

#![no_main]

use crmsync_salesforce::{Cond, Like, Soql};
use crmsync_sim::salesforce::soql_string_literals;
use libfuzzer_sys::fuzz_target;

const SENTINEL: &str = "sentinel";

fn literals(cond: Cond) -> Vec<(String, usize)> {
    let query = Soql::select(&["Id"])
        .from("Contact")
        .where_(cond.and(Cond::eq("FirstName", SENTINEL)))
        .build()
        .unwrap_or_else(|e| panic!("a text value was refused: {e}"));
    soql_string_literals(&query)
        .unwrap_or_else(|e| panic!("the simulator refused {query:?}: {e}"))
        .into_iter()
        .map(|l| (l.value, l.wildcards))
        .collect()
}

fn values(literals: &[(String, usize)]) -> Vec<&str> {
    literals.iter().map(|(v, _)| v.as_str()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let eq = literals(Cond::eq("LastName", text));
    assert_eq!(values(&eq), [text, SENTINEL], "`=` did not round-trip");

    let listed = literals(Cond::in_("Email", [text, "b@example.com"]));
    assert_eq!(
        values(&listed),
        [text, "b@example.com", SENTINEL],
        "`IN` did not round-trip"
    );

    // In a LIKE pattern the text's own `%` and `_` are escaped: only the two added
    // wildcards stay wildcards.
    let like = literals(Cond::like("LastName", Like::contains(text)));
    let expected = format!("%{text}%");
    assert_eq!(
        values(&like),
        [expected.as_str(), SENTINEL],
        "`LIKE` did not round-trip"
    );
    assert_eq!(like[0].1, 2, "a wildcard of the text escaped its escaping");
});
