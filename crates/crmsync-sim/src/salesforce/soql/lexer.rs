//! SOQL tokens: identifiers (keywords are identifiers the parser recognizes), quoted strings
//! with Salesforce's backslash escapes, numbers, date and date-time literals, punctuation and
//! comparison operators.
//!
//! Strings are decoded exactly: `\'` `\"` `\\` `\n` `\r` `\t` `\b` `\f` (either case), and
//! `\%` `\_` (literal percent and underscore, which matter in `LIKE`), and `\uXXXX` (a
//! UTF-16 code unit; a surrogate pair for characters beyond the BMP). Any other backslash
//! sequence is an error, as in Salesforce, so a value can never end a literal early.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

use super::SoqlError;

/// One element of a `LIKE` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LikePart {
    Char(char),
    /// `_`: exactly one character.
    One,
    /// `%`: any run of characters.
    Many,
}

/// A decoded string literal: its value, and the `LIKE` pattern it spells (escaped `%` and
/// `_` are literal there, bare ones wildcards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StrLit {
    pub value: String,
    pub pattern: Vec<LikePart>,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(StrLit),
    Num(f64),
    Date(NaiveDate),
    /// Milliseconds since the epoch.
    DateTime(i64),
    Comma,
    LParen,
    RParen,
    Dot,
    Colon,
    Op(CmpOp),
    End,
}

impl Tok {
    /// How an error message shows the token.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Str(s) => format!("'{}'", s.value),
            Tok::Num(n) => n.to_string(),
            Tok::Date(d) => d.to_string(),
            Tok::DateTime(_) => "date-time literal".to_string(),
            Tok::Comma => ",".to_string(),
            Tok::LParen => "(".to_string(),
            Tok::RParen => ")".to_string(),
            Tok::Dot => ".".to_string(),
            Tok::Colon => ":".to_string(),
            Tok::Op(op) => match op {
                CmpOp::Eq => "=",
                CmpOp::Ne => "!=",
                CmpOp::Lt => "<",
                CmpOp::Gt => ">",
                CmpOp::Le => "<=",
                CmpOp::Ge => ">=",
            }
            .to_string(),
            Tok::End => "<EOF>".to_string(),
        }
    }
}

/// A token and the character offset it starts at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: usize,
}

/// Splits a query into tokens, ending with [`Tok::End`].
pub(crate) fn tokenize(query: &str) -> Result<Vec<Token>, SoqlError> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            '.' => {
                i += 1;
                Tok::Dot
            }
            ':' => {
                i += 1;
                Tok::Colon
            }
            '=' => {
                i += 1;
                Tok::Op(CmpOp::Eq)
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Tok::Op(CmpOp::Ne)
            }
            '<' => match chars.get(i + 1) {
                Some('=') => {
                    i += 2;
                    Tok::Op(CmpOp::Le)
                }
                Some('>') => {
                    i += 2;
                    Tok::Op(CmpOp::Ne)
                }
                _ => {
                    i += 1;
                    Tok::Op(CmpOp::Lt)
                }
            },
            '>' => {
                if chars.get(i + 1) == Some(&'=') {
                    i += 2;
                    Tok::Op(CmpOp::Ge)
                } else {
                    i += 1;
                    Tok::Op(CmpOp::Gt)
                }
            }
            '\'' => {
                let (lit, next) = string(&chars, i)?;
                i = next;
                Tok::Str(lit)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                Tok::Ident(chars[start..i].iter().collect())
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+' || c == '.')
                    && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let (tok, next) = number_or_date(&chars, i)?;
                i = next;
                tok
            }
            other => {
                return Err(SoqlError::malformed(
                    start,
                    format!("unexpected token: '{other}'"),
                ));
            }
        };
        out.push(Token { tok, pos: start });
    }
    out.push(Token {
        tok: Tok::End,
        pos: chars.len(),
    });
    Ok(out)
}

/// Decodes the string literal opening at `chars[open]`; returns it and the offset after it.
fn string(chars: &[char], open: usize) -> Result<(StrLit, usize), SoqlError> {
    let mut value = String::new();
    let mut pattern = Vec::new();
    let mut i = open + 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(SoqlError::malformed(
                open,
                "unterminated string literal".to_string(),
            ));
        };
        match c {
            '\'' => return Ok((StrLit { value, pattern }, i + 1)),
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(SoqlError::malformed(
                        i,
                        "unterminated string literal".to_string(),
                    ));
                };
                if e == 'u' {
                    // `\uXXXX`, a UTF-16 code unit; a surrogate pair is two of them.
                    let (decoded, next) = unicode_escape(chars, i)?;
                    value.push(decoded);
                    pattern.push(LikePart::Char(decoded));
                    i = next;
                    continue;
                }
                let decoded = match e {
                    '\'' | '"' | '\\' => e,
                    'n' | 'N' => '\n',
                    'r' | 'R' => '\r',
                    't' | 'T' => '\t',
                    'b' | 'B' => '\u{8}',
                    'f' | 'F' => '\u{c}',
                    '%' | '_' => e,
                    other => {
                        return Err(SoqlError::malformed(
                            i,
                            format!(
                                "Invalid string literal '\\{other}'. Illegal character sequence '\\{other}' in string literal."
                            ),
                        ));
                    }
                };
                value.push(decoded);
                pattern.push(LikePart::Char(decoded));
                i += 2;
            }
            '%' => {
                value.push(c);
                pattern.push(LikePart::Many);
                i += 1;
            }
            '_' => {
                value.push(c);
                pattern.push(LikePart::One);
                i += 1;
            }
            _ => {
                value.push(c);
                pattern.push(LikePart::Char(c));
                i += 1;
            }
        }
    }
}

/// Decodes the `\uXXXX` escape at `chars[at]` (and the low surrogate's escape after it,
/// for a high surrogate); returns the character and the offset after the escape(s).
fn unicode_escape(chars: &[char], at: usize) -> Result<(char, usize), SoqlError> {
    let unit = |i: usize| -> Option<u32> {
        if chars.get(i) != Some(&'\\') || chars.get(i + 1) != Some(&'u') {
            return None;
        }
        let hex: String = chars.get(i + 2..i + 6)?.iter().collect();
        if hex.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(&hex, 16).ok()
        } else {
            None
        }
    };
    let invalid = || {
        SoqlError::malformed(
            at,
            "Invalid string literal: a \\u escape needs four hex digits and a valid character."
                .to_string(),
        )
    };
    let first = unit(at).ok_or_else(invalid)?;
    if (0xD800..0xDC00).contains(&first) {
        let low = unit(at + 6)
            .filter(|low| (0xDC00..0xE000).contains(low))
            .ok_or_else(invalid)?;
        let code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
        return char::from_u32(code)
            .map(|c| (c, at + 12))
            .ok_or_else(invalid);
    }
    char::from_u32(first)
        .map(|c| (c, at + 6))
        .ok_or_else(invalid)
}

fn digits(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    i
}

fn text(chars: &[char], from: usize, to: usize) -> String {
    chars[from..to.min(chars.len())].iter().collect()
}

/// A number, a date (`2024-01-31`) or a date-time (`2024-01-31T10:00:00Z`, with optional
/// fractional seconds and a `Z`, `+hh:mm` or `+hhmm` offset).
fn number_or_date(chars: &[char], start: usize) -> Result<(Tok, usize), SoqlError> {
    let first_end = digits(chars, start);
    let is_date = first_end - start == 4
        && chars.get(first_end) == Some(&'-')
        && chars.get(first_end + 1).is_some_and(char::is_ascii_digit);
    if !is_date {
        let mut i = start + 1;
        i = digits(chars, i);
        if chars.get(i) == Some(&'.') {
            i = digits(chars, i + 1);
        }
        let raw = text(chars, start, i);
        return raw
            .parse::<f64>()
            .map(|n| (Tok::Num(n), i))
            .map_err(|_| SoqlError::malformed(start, format!("unexpected token: '{raw}'")));
    }
    let date_end = start + 10;
    let raw_date = text(chars, start, date_end);
    let bad = |raw: &str| SoqlError::malformed(start, format!("unexpected token: '{raw}'"));
    let date = NaiveDate::parse_from_str(&raw_date, "%Y-%m-%d").map_err(|_| bad(&raw_date))?;
    if chars.get(date_end) != Some(&'T') {
        if chars
            .get(date_end)
            .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            return Err(bad(&text(chars, start, date_end + 1)));
        }
        return Ok((Tok::Date(date), date_end));
    }
    // The time: HH:MM:SS, optional .fraction, then Z or an offset.
    let mut i = date_end + 1;
    let time_start = i;
    i = digits(chars, i);
    for _ in 0..2 {
        if chars.get(i) != Some(&':') {
            return Err(bad(&text(chars, start, i)));
        }
        i = digits(chars, i + 1);
    }
    if chars.get(i) == Some(&'.') {
        i = digits(chars, i + 1);
    }
    let raw_time = text(chars, time_start, i);
    let time = NaiveTime::parse_from_str(&raw_time, "%H:%M:%S%.f")
        .map_err(|_| bad(&text(chars, start, i)))?;
    let offset_secs = match chars.get(i) {
        Some('Z' | 'z') => {
            i += 1;
            0
        }
        Some(sign @ ('+' | '-')) => {
            let sign = if *sign == '-' { -1 } else { 1 };
            let h_end = digits(chars, i + 1);
            let (hours, minutes, end) = if h_end - (i + 1) == 4 {
                (text(chars, i + 1, i + 3), text(chars, i + 3, i + 5), h_end)
            } else if h_end - (i + 1) == 2 && chars.get(h_end) == Some(&':') {
                let m_end = digits(chars, h_end + 1);
                (
                    text(chars, i + 1, h_end),
                    text(chars, h_end + 1, m_end),
                    m_end,
                )
            } else {
                return Err(bad(&text(chars, start, h_end)));
            };
            let h: i32 = hours.parse().map_err(|_| bad(&hours))?;
            let m: i32 = minutes.parse().map_err(|_| bad(&minutes))?;
            if minutes.len() != 2 || h > 23 || m > 59 {
                return Err(bad(&text(chars, start, end)));
            }
            i = end;
            sign * (h * 3600 + m * 60)
        }
        _ => return Err(bad(&text(chars, start, i))),
    };
    if chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Err(bad(&text(chars, start, i + 1)));
    }
    let offset = FixedOffset::east_opt(offset_secs).ok_or_else(|| bad(&raw_time))?;
    let instant = offset
        .from_local_datetime(&NaiveDateTime::new(date, time))
        .single()
        .ok_or_else(|| bad(&raw_time))?;
    Ok((Tok::DateTime(instant.timestamp_millis()), i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(q: &str) -> Vec<Tok> {
        tokenize(q)
            .map(|v| v.into_iter().map(|t| t.tok).collect())
            .unwrap_or_default()
    }

    #[test]
    fn escapes_decode_exactly() {
        let t = toks(r"'O\'Brien \\ \n\t \% \_ %_'");
        let Some(Tok::Str(s)) = t.first() else {
            panic!("{t:?}");
        };
        assert_eq!(s.value, "O'Brien \\ \n\t % _ %_");
        assert_eq!(
            s.pattern[s.pattern.len() - 2..],
            [LikePart::Many, LikePart::One]
        );
        assert_eq!(s.pattern[13], LikePart::Char('%'));
        assert!(tokenize(r"'\x'").is_err());
        assert!(tokenize("'open").is_err());
        assert!(tokenize(r"'ends with backslash\'").is_err());
    }

    #[test]
    fn unicode_escapes_decode_to_their_characters() {
        // What the Salesforce provider writes for control characters and what Salesforce
        // documents: `\uXXXX`, a surrogate pair for characters beyond the BMP.
        let t = toks(r"'a\u0001b\u007F\u00e9\ud83c\udf89'");
        let Some(Tok::Str(s)) = t.first() else {
            panic!("{t:?}");
        };
        assert_eq!(s.value, "a\u{1}b\u{7f}\u{e9}\u{1f389}");
        assert_eq!(s.pattern.len(), 6);
        assert!(tokenize(r"'\u12'").is_err());
        assert!(tokenize(r"'\u12g4'").is_err());
        assert!(tokenize(r"'\ud83c'").is_err(), "a lone high surrogate");
        assert!(tokenize(r"'\udf89'").is_err(), "a lone low surrogate");
    }

    #[test]
    fn date_and_datetime_literals() {
        let ms = 1_706_695_200_000; // 2024-01-31T10:00:00Z
        assert_eq!(toks("2024-01-31T10:00:00Z")[0], Tok::DateTime(ms));
        assert_eq!(toks("2024-01-31T10:00:00.123Z")[0], Tok::DateTime(ms + 123));
        assert_eq!(toks("2024-01-31T12:00:00+02:00")[0], Tok::DateTime(ms));
        assert_eq!(toks("2024-01-31T05:00:00-0500")[0], Tok::DateTime(ms));
        assert!(matches!(toks("2024-01-31")[0], Tok::Date(_)));
        assert!(tokenize("2024-01-31T10:00:00").is_err());
        assert!(tokenize("2024-13-31").is_err());
        assert_eq!(toks("-12.5")[0], Tok::Num(-12.5));
        assert_eq!(toks("a<>b")[1], Tok::Op(CmpOp::Ne));
    }
}
