//! Salesforce record ids: 15 case-sensitive base-62 characters (a three-character key prefix
//! naming the object, two for the instance, one reserved, nine for the record), plus the
//! three-character suffix that makes the 18-character form case-insensitive.

/// Base-62 digits in ASCII order, so fixed-width ids sort like the numbers they encode.
const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The alphabet of the checksum suffix.
const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The simulated pod and reserved character every id carries after its key prefix.
const INSTANCE: &str = "8d0";

/// The sequence numbers start here, so ids look like real ones (`0038d00000A…`), not zeros.
const FIRST_SEQUENCE: u64 = 10 * 62u64.pow(4);

/// The three-character suffix of a 15-character id: for each block of five characters, a
/// five-bit number whose bit `i` says whether character `i` is an upper-case letter.
pub(crate) fn checksum(id15: &[u8]) -> [u8; 3] {
    let mut out = [b'A'; 3];
    for (block, slot) in out.iter_mut().enumerate() {
        let mut bits = 0usize;
        for i in 0..5 {
            if id15
                .get(block * 5 + i)
                .is_some_and(|c| c.is_ascii_uppercase())
            {
                bits |= 1 << i;
            }
        }
        *slot = SUFFIX[bits];
    }
    out
}

/// The 18-character id of record number `sequence` of the object with `key_prefix`.
pub(crate) fn make(key_prefix: &str, sequence: u64) -> String {
    let mut n = FIRST_SEQUENCE + sequence;
    let mut tail = [b'0'; 9];
    for slot in tail.iter_mut().rev() {
        *slot = DIGITS[(n % 62) as usize];
        n /= 62;
    }
    let mut id = Vec::with_capacity(18);
    id.extend_from_slice(key_prefix.as_bytes());
    id.extend_from_slice(INSTANCE.as_bytes());
    id.extend_from_slice(&tail);
    let suffix = checksum(&id);
    id.extend_from_slice(&suffix);
    String::from_utf8(id).unwrap_or_default()
}

/// The canonical 18-character form of an id given with 15 or 18 characters, or `None` when
/// it is not a well-formed id. An 18-character id may arrive in any case: its suffix
/// restores the case of the first fifteen characters, as Salesforce does.
pub(crate) fn normalize(raw: &str) -> Option<String> {
    let raw = raw.trim().as_bytes();
    if !raw.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    match raw.len() {
        15 => {
            let mut id = raw.to_vec();
            id.extend_from_slice(&checksum(raw));
            String::from_utf8(id).ok()
        }
        18 => {
            let mut id = raw[..15].to_vec();
            for block in 0..3 {
                let c = raw[15 + block].to_ascii_uppercase();
                let bits = SUFFIX.iter().position(|s| *s == c)?;
                for i in 0..5 {
                    let ch = &mut id[block * 5 + i];
                    if ch.is_ascii_alphabetic() {
                        *ch = if bits & (1 << i) != 0 {
                            ch.to_ascii_uppercase()
                        } else {
                            ch.to_ascii_lowercase()
                        };
                    } else if bits & (1 << i) != 0 {
                        return None;
                    }
                }
            }
            let suffix = checksum(&id);
            id.extend_from_slice(&suffix);
            String::from_utf8(id).ok()
        }
        _ => None,
    }
}

/// The key prefix (first three characters) of an id.
pub(crate) fn prefix(id: &str) -> &str {
    id.get(..3).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_salesforce() {
        // A well-known pair: the 15-character id and its 18-character form.
        assert_eq!(
            normalize("001A0000006Vm9r").as_deref(),
            Some("001A0000006Vm9rIAC")
        );
        assert_eq!(
            normalize("003D000000QOjvZ").as_deref(),
            Some("003D000000QOjvZIAT")
        );
    }

    #[test]
    fn eighteen_character_ids_are_case_insensitive() {
        let id = make("003", 12_345);
        assert_eq!(id.len(), 18);
        assert_eq!(normalize(&id.to_lowercase()).as_deref(), Some(id.as_str()));
        assert_eq!(normalize(&id.to_uppercase()).as_deref(), Some(id.as_str()));
        assert_eq!(normalize(&id[..15]).as_deref(), Some(id.as_str()));
        assert_eq!(normalize("not an id"), None);
        assert_eq!(normalize("003'OR'1'='1'xx"), None);
    }

    #[test]
    fn ids_sort_in_creation_order() {
        let ids: Vec<String> = (0..5000).step_by(61).map(|n| make("00Q", n)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids[0].starts_with("00Q8d0"));
    }
}
