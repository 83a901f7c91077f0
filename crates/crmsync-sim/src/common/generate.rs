//! Generator pieces every simulator's seed shares: spread-out timestamps, weighted
//! countries, and ASCII folding for email addresses.

use std::collections::HashSet;

use super::rng::SplitMix64;
use super::words::COUNTRY_WEIGHTS;

/// One day in milliseconds.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// Creation and modification times for `n` records: creations increase and are distinct,
/// modifications fall between creation and the anchor and are distinct too.
pub(crate) fn timestamps(rng: &mut SplitMix64, n: usize, anchor_ms: i64) -> Vec<(i64, i64)> {
    let span = 30 * DAY_MS;
    let start = anchor_ms - span;
    let step = (span / (n.max(1) as i64)).max(2);
    let mut used = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let created = start + i as i64 * step + rng.below((step - 1) as u64) as i64;
        let room = (anchor_ms - 1 - created).max(0) as u64;
        let mut updated = if rng.chance(10) {
            created
        } else {
            created + rng.below(room + 1) as i64
        };
        while !used.insert(updated) {
            updated = if updated + 1 < anchor_ms {
                updated + 1
            } else {
                created + rng.below(room + 1) as i64
            };
        }
        out.push((created, updated));
    }
    out
}

pub(crate) fn pick_country(rng: &mut SplitMix64) -> usize {
    let mut roll = rng.below(100);
    for (i, w) in COUNTRY_WEIGHTS.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    0
}

/// Lower-case ASCII for an email local part.
pub(crate) fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let mapped = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ø' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'Ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            'ł' => 'l',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => continue,
        };
        out.push(mapped);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_distinct_and_ordered() {
        let mut rng = SplitMix64::new(1);
        let anchor = 1_700_000_000_000;
        let ts = timestamps(&mut rng, 5000, anchor);
        let mut seen = HashSet::new();
        let mut last_created = i64::MIN;
        for (c, u) in &ts {
            assert!(*c > last_created);
            last_created = *c;
            assert!(u >= c, "{u} < {c}");
            assert!(*u < anchor);
            assert!(seen.insert(*u));
        }
    }

    #[test]
    fn emails_fold_to_ascii() {
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold("O'Brien"), "obrien");
        assert_eq!(fold("de Vries"), "devries");
    }
}
