//! Phone numbers in the national and international formats people type, every one valid
//! for its country according to libphonenumber's metadata (checked by the tests below).

use super::rng::SplitMix64;

/// A North American number: a real area code for the city, an exchange 2xx–9xx that is
/// neither 555 nor N11, and four line digits.
fn nanp(rng: &mut SplitMix64, code: &str, city: &str) -> (String, String, String) {
    let npa = match (code, city) {
        ("CA", "Toronto") => *rng.pick(&["416", "647"]),
        ("CA", "Vancouver") => "604",
        ("CA", _) => "514",
        (_, "New York") => *rng.pick(&["212", "646", "718"]),
        (_, "San Francisco") => "415",
        (_, "Boston") => "617",
        (_, "Chicago") => "312",
        (_, "Seattle") => "206",
        (_, "Austin") => "512",
        (_, "Denver") => "303",
        (_, "Atlanta") => "404",
        (_, "Miami") => "305",
        (_, "Los Angeles") => "213",
        (_, "Dallas") => "214",
        _ => "503",
    };
    let nxx = loop {
        let n = rng.range(200, 999);
        if n != 555 && n % 100 != 11 {
            break n;
        }
    };
    (npa.to_string(), nxx.to_string(), rng.digits(4))
}

/// A landline in one of the formats people type for `code`'s country.
pub(crate) fn phone(rng: &mut SplitMix64, code: &str, city: &str) -> String {
    let d = |rng: &mut SplitMix64, n: usize| -> String {
        let first = char::from(b'2' + rng.below(7) as u8);
        format!("{first}{}", rng.digits(n - 1))
    };
    match code {
        "US" | "CA" => {
            let (a, b, c) = nanp(rng, code, city);
            match rng.below(8) {
                0 => format!("({a}) {b}-{c}"),
                1 => format!("{a}.{b}.{c}"),
                2 => format!("+1-{a}-{b}-{c}"),
                3 => format!("+1 {a} {b} {c}"),
                4 => format!("{a}-{b}-{c}"),
                5 => format!("{a}{b}{c}"),
                6 => format!("+1{a}{b}{c}"),
                _ => format!("1 ({a}) {b}-{c}"),
            }
        }
        "GB" => {
            let (area, rest) = match city {
                "London" => (
                    "20",
                    format!("{}{}", rng.pick(&["7", "3", "8"]), rng.digits(7)),
                ),
                // Subscriber numbers start only with the digits Ofcom allocated in each area.
                "Manchester" => ("161", format!("{}{}", rng.range(2, 9), rng.digits(6))),
                "Bristol" => (
                    "117",
                    format!("{}{}", rng.pick(&["2", "3", "4", "9"]), rng.digits(6)),
                ),
                "Leeds" => (
                    "113",
                    format!("{}{}", rng.pick(&["2", "3", "4", "5"]), rng.digits(6)),
                ),
                _ => ("131", format!("{}{}", rng.range(2, 8), rng.digits(6))),
            };
            let (x, y) = rest.split_at(rest.len() - 4);
            match rng.below(3) {
                0 => format!("+44 {area} {x} {y}"),
                1 => format!("0{area} {x} {y}"),
                _ => format!("+44{area}{x}{y}"),
            }
        }
        "DE" => {
            let area = match city {
                "Berlin" => "30",
                "Munich" => "89",
                "Hamburg" => "40",
                "Frankfurt" => "69",
                _ => "221",
            };
            let len = if area.len() == 2 {
                7 + rng.below(2) as usize
            } else {
                7
            };
            let sub = d(rng, len);
            match rng.below(3) {
                0 => format!("+49 {area} {sub}"),
                1 => format!("0{area} {sub}"),
                _ => format!("+49 ({area}) {sub}"),
            }
        }
        "FR" => {
            let area = match city {
                "Paris" => "1",
                "Lyon" => "4",
                "Marseille" => "4",
                "Toulouse" => "5",
                _ => "2",
            };
            let n = format!(
                "{area}{}{}",
                rng.pick(&["1", "2", "3", "4", "5", "7", "8"]),
                rng.digits(7)
            );
            let pairs = format!("{} {} {} {}", &n[1..3], &n[3..5], &n[5..7], &n[7..9]);
            match rng.below(3) {
                0 => format!("+33 {area} {pairs}"),
                1 => format!("0{area} {pairs}"),
                _ => format!("+33{n}"),
            }
        }
        "AU" => {
            let area = match city {
                "Sydney" => "2",
                "Melbourne" => "3",
                _ => "7",
            };
            let first = match area {
                "2" => "9",
                "3" => "9",
                _ => "3",
            };
            let n = format!("{first}{}", rng.digits(7));
            match rng.below(3) {
                0 => format!("+61 {area} {} {}", &n[..4], &n[4..]),
                1 => format!("(0{area}) {} {}", &n[..4], &n[4..]),
                _ => format!("0{area} {n}"),
            }
        }
        "NL" => {
            let area = match city {
                "Amsterdam" => "20",
                "Rotterdam" => "10",
                _ => "30",
            };
            let n = d(rng, 7);
            match rng.below(3) {
                0 => format!("+31 {area} {} {}", &n[..3], &n[3..]),
                1 => format!("0{area}-{n}"),
                _ => format!("+31{area}{n}"),
            }
        }
        _ => {
            let area = match city {
                "Madrid" => "91",
                "Barcelona" => "93",
                _ => "96",
            };
            let n = format!("{area}{}{}", rng.range(1, 8), rng.digits(6));
            match rng.below(3) {
                0 => format!("+34 {} {} {}", &n[..3], &n[3..6], &n[6..]),
                1 => format!("{} {} {}", &n[..3], &n[3..6], &n[6..]),
                _ => format!("+34{n}"),
            }
        }
    }
}

/// A mobile number for `code`'s country.
pub(crate) fn mobile(rng: &mut SplitMix64, code: &str) -> String {
    match code {
        "US" | "CA" => {
            let (a, b, c) = nanp(rng, code, "");
            format!("+1 {a}-{b}-{c}")
        }
        "GB" => {
            let n = format!("7{}{}{}", rng.range(1, 3), rng.digits(2), rng.digits(6));
            if rng.chance(50) {
                format!("0{} {}", &n[..4], &n[4..])
            } else {
                format!("+44 {} {}", &n[..4], &n[4..])
            }
        }
        "DE" => {
            let prefix = *rng.pick(&["151", "160", "170", "171", "176"]);
            let n = rng.digits(if prefix == "151" { 8 } else { 7 });
            if rng.chance(50) {
                format!("+49 {prefix} {n}")
            } else {
                format!("0{prefix} {n}")
            }
        }
        "FR" => {
            let n = format!(
                "6{}{}",
                rng.pick(&["0", "1", "2", "4", "5", "6", "7", "8"]),
                rng.digits(7)
            );
            let pairs = format!("{} {} {} {}", &n[1..3], &n[3..5], &n[5..7], &n[7..9]);
            if rng.chance(50) {
                format!("+33 6 {pairs}")
            } else {
                format!("06 {pairs}")
            }
        }
        "AU" => {
            let n = format!("4{}{}", rng.range(0, 3), rng.digits(7));
            if rng.chance(50) {
                format!("+61 {} {} {}", &n[..3], &n[3..6], &n[6..])
            } else {
                format!("0{} {} {}", &n[..3], &n[3..6], &n[6..])
            }
        }
        "NL" => format!(
            "+31 6 {}{}",
            rng.pick(&["1", "2", "3", "4", "5", "8"]),
            rng.digits(7)
        ),
        _ => {
            let n = format!("6{}", rng.digits(8));
            format!("+34 {} {} {}", &n[..3], &n[3..6], &n[6..])
        }
    }
}

/// Every (phone, region) the generator can produce for a few draws; used by the tests that
/// validate numbers against libphonenumber metadata.
#[cfg(test)]
fn sample_phones(draws: usize) -> Vec<(String, &'static str)> {
    use super::words::COUNTRIES;

    let mut rng = SplitMix64::new(99);
    let mut out = Vec::new();
    for _ in 0..draws {
        for country in COUNTRIES {
            for city in country.cities {
                out.push((phone(&mut rng, country.code, city), country.code));
            }
            out.push((mobile(&mut rng, country.code), country.code));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_phone_is_valid_for_its_country() {
        let mut invalid = Vec::new();
        for (number, region) in sample_phones(200) {
            let id = region.parse::<phonenumber::country::Id>().ok();
            let valid = phonenumber::parse(id, &number).is_ok_and(|n| phonenumber::is_valid(&n));
            if !valid {
                invalid.push(format!("{region} {number}"));
            }
        }
        assert!(invalid.is_empty(), "invalid numbers: {invalid:#?}");
    }
}
