//! Phone numbers as CRMs store them: normalizing never panics, and is idempotent (an
//! E.164 number normalizes to itself). Country names never panic either.

#![no_main]

use crmsync_transform::{normalize_phone, region_for_country};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for region in ["US", "GB", "DE", "FR", "AU"] {
        if let Ok(e164) = normalize_phone(text, region) {
            assert!(e164.starts_with('+'), "not E.164");
            assert_eq!(
                normalize_phone(&e164, region).as_deref(),
                Ok(e164.as_str()),
                "normalizing is not idempotent"
            );
        }
    }
    let _ = region_for_country(text);
});
