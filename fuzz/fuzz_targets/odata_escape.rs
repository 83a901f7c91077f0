//! OData `$filter` literal escaping: any text, quoted by the Dynamics provider's filter
//! builder, is decoded by the Dataverse simulator's `$filter` parser back to the same
//! text, and never breaks out of its literal: the filter keeps exactly the literals it
//! was built with.

#![no_main]

use crmsync_dynamics::Filter;
use crmsync_sim::dynamics::filter_string_literals;
use libfuzzer_sys::fuzz_target;

const SENTINEL: &str = "sentinel";

fn literals(filter: Filter) -> Vec<String> {
    let text = filter
        .and(Filter::eq("firstname", SENTINEL))
        .build()
        .unwrap_or_else(|e| panic!("a text value was refused: {e}"));
    filter_string_literals(&text).unwrap_or_else(|e| panic!("the simulator refused {text:?}: {e}"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(literals(Filter::eq("lastname", text)), [text, SENTINEL]);
    assert_eq!(
        literals(Filter::Not(Box::new(Filter::ne("lastname", text)))),
        [text, SENTINEL]
    );
    if let Some(any) = Filter::any_of("emailaddress1", [text, "b@example.com"]) {
        assert_eq!(literals(any), [text, "b@example.com", SENTINEL]);
    }
});
