//! `POST /crm/v3/objects/{type}/search`: filter groups, one sort, a free-text query, and
//! offset paging that stops at 10,000 results with a 400, as HubSpot's does.

use std::cmp::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::render::{RecordView, Selection};
use super::{AppState, parse_json, resolve_type};
use crate::hubspot::errors::{ApiError, json_body};
use crate::hubspot::schema::{Kind, ObjectType};
use crate::hubspot::store::Record;
use crate::hubspot::time;

#[derive(Deserialize)]
struct SearchBody {
    #[serde(default, rename = "filterGroups")]
    filter_groups: Option<Vec<FilterGroup>>,
    #[serde(default)]
    sorts: Option<Vec<Value>>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    properties: Option<Vec<String>>,
    #[serde(default)]
    limit: Option<Value>,
    #[serde(default)]
    after: Option<Value>,
}

#[derive(Deserialize)]
struct FilterGroup {
    #[serde(default)]
    filters: Vec<FilterInput>,
}

#[derive(Deserialize)]
struct FilterInput {
    #[serde(rename = "propertyName")]
    property_name: String,
    operator: String,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    values: Option<Vec<Value>>,
    #[serde(default, rename = "highValue")]
    high_value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    Has,
    NotHas,
    Contains,
    NotContains,
}

/// A filter value, pre-parsed every way it may be compared.
struct Operand {
    text: String,
    num: Option<f64>,
    ms: Option<i64>,
}

impl Operand {
    fn new(value: &Value) -> Self {
        let text = match value {
            Value::String(s) => s.trim().to_string(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        Self {
            num: text.parse::<f64>().ok().filter(|n| n.is_finite()),
            ms: time::parse_instant(&text),
            text: text.to_lowercase(),
        }
    }
}

struct Condition {
    property: String,
    datetime: bool,
    op: Op,
    operands: Vec<Operand>,
}

fn compile(ty: ObjectType, f: &FilterInput) -> Result<Condition, ApiError> {
    let op = match f.operator.to_ascii_uppercase().as_str() {
        "EQ" => Op::Eq,
        "NEQ" => Op::Neq,
        "LT" => Op::Lt,
        "LTE" => Op::Lte,
        "GT" => Op::Gt,
        "GTE" => Op::Gte,
        "BETWEEN" => Op::Between,
        "IN" => Op::In,
        "NOT_IN" => Op::NotIn,
        "HAS_PROPERTY" => Op::Has,
        "NOT_HAS_PROPERTY" => Op::NotHas,
        "CONTAINS_TOKEN" => Op::Contains,
        "NOT_CONTAINS_TOKEN" => Op::NotContains,
        other => {
            return Err(ApiError::validation(format!(
                "Invalid input JSON: Cannot deserialize value of type `FilterOperatorEnum` from String \"{other}\""
            )));
        }
    };
    let missing = |what: &str| {
        ApiError::validation(format!(
            "{what} is required for operator {} on property {}",
            f.operator, f.property_name
        ))
    };
    let operands = match op {
        Op::Has | Op::NotHas => Vec::new(),
        Op::In | Op::NotIn => {
            let values = f
                .values
                .as_ref()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| missing("values"))?;
            values.iter().map(Operand::new).collect()
        }
        Op::Between => {
            let low = f.value.as_ref().ok_or_else(|| missing("value"))?;
            let high = f.high_value.as_ref().ok_or_else(|| missing("highValue"))?;
            vec![Operand::new(low), Operand::new(high)]
        }
        _ => vec![Operand::new(
            f.value.as_ref().ok_or_else(|| missing("value"))?,
        )],
    };
    let datetime = ty
        .property(&f.property_name)
        .is_some_and(|p| p.is_datetime());
    if datetime && operands.iter().any(|o| o.ms.is_none()) {
        return Err(ApiError::validation(format!(
            "Invalid value for date property {}: use epoch milliseconds or ISO-8601",
            f.property_name
        )));
    }
    Ok(Condition {
        property: f.property_name.clone(),
        datetime,
        op,
        operands,
    })
}

/// Compares a record's value with a filter value: as instants for date properties, as
/// numbers when both parse, otherwise as case-insensitive text.
fn compare(c: &Condition, ty: ObjectType, r: &Record, raw: &str, o: &Operand) -> Option<Ordering> {
    if c.datetime {
        return Some(r.instant(ty, &c.property)?.cmp(&o.ms?));
    }
    if let (Ok(a), Some(b)) = (raw.trim().parse::<f64>(), o.num) {
        return a.partial_cmp(&b);
    }
    Some(raw.to_lowercase().as_str().cmp(o.text.as_str()))
}

/// `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().map_or(("", &[][..]), |(f, r)| (*f, r));
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(i) => remaining = &remaining[i + part.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last)
}

/// Whether `needle` occurs in `hay` between word boundaries (or matches a `*` pattern).
fn contains_token(hay: &str, needle: &str) -> bool {
    let hay = hay.to_lowercase();
    if needle.is_empty() {
        return false;
    }
    if needle.contains('*') {
        return glob(needle, &hay) || hay.split_whitespace().any(|t| glob(needle, t));
    }
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    hay.match_indices(needle).any(|(i, m)| {
        boundary(hay[..i].chars().next_back()) && boundary(hay[i + m.len()..].chars().next())
    })
}

fn matches(c: &Condition, ty: ObjectType, r: &Record) -> bool {
    let value = if c.datetime {
        r.instant(ty, &c.property)
            .map(|_| std::borrow::Cow::Borrowed(""))
    } else {
        r.value(ty, &c.property)
    };
    let Some(raw) = value else {
        // Negative operators match records that have no value at all.
        return matches!(c.op, Op::Neq | Op::NotIn | Op::NotHas | Op::NotContains);
    };
    let cmp = |o: &Operand| compare(c, ty, r, &raw, o);
    let first = || c.operands.first();
    match c.op {
        Op::Has => true,
        Op::NotHas => false,
        Op::Eq => first().and_then(cmp) == Some(Ordering::Equal),
        Op::Neq => first().and_then(cmp) != Some(Ordering::Equal),
        Op::Lt => first().and_then(cmp) == Some(Ordering::Less),
        Op::Lte => matches!(
            first().and_then(cmp),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Op::Gt => first().and_then(cmp) == Some(Ordering::Greater),
        Op::Gte => matches!(
            first().and_then(cmp),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Op::Between => {
            matches!(
                c.operands.first().and_then(cmp),
                Some(Ordering::Greater | Ordering::Equal)
            ) && matches!(
                c.operands.get(1).and_then(cmp),
                Some(Ordering::Less | Ordering::Equal)
            )
        }
        Op::In => c.operands.iter().any(|o| cmp(o) == Some(Ordering::Equal)),
        Op::NotIn => !c.operands.iter().any(|o| cmp(o) == Some(Ordering::Equal)),
        Op::Contains => first().is_some_and(|o| contains_token(&raw, &o.text)),
        Op::NotContains => !first().is_some_and(|o| contains_token(&raw, &o.text)),
    }
}

/// The free-text `query`: every term must prefix a word of one of the type's text properties.
fn matches_query(ty: ObjectType, r: &Record, terms: &[String]) -> bool {
    terms.iter().all(|term| {
        ty.query_properties()
            .iter()
            .any(|p| r.value(ty, p).is_some_and(|v| matches_term(&v, term)))
    })
}

/// `term` (lower-case) prefixes the value or one of its words, or, when it holds
/// punctuation (`@`, `.`), occurs in it. ASCII values, the common case, are not copied.
fn matches_term(value: &str, term: &str) -> bool {
    let owned;
    let value = if value.is_ascii() {
        value
    } else {
        owned = value.to_lowercase();
        owned.as_str()
    };
    let prefixes = |w: &str| {
        w.get(..term.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(term))
    };
    prefixes(value)
        || value.split(|c: char| !c.is_alphanumeric()).any(prefixes)
        || (term.contains(|c: char| !c.is_alphanumeric())
            && value.to_ascii_lowercase().contains(term))
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum SortKey {
    Num(f64),
    Text(String),
}

fn sort_key(ty: ObjectType, r: &Record, property: &str) -> Option<SortKey> {
    match ty.property(property).map(|p| p.kind) {
        Some(Kind::DateTime) => r.instant(ty, property).map(|ms| SortKey::Num(ms as f64)),
        Some(Kind::Number) => r
            .value(ty, property)?
            .trim()
            .parse::<f64>()
            .ok()
            .map(SortKey::Num),
        _ => r
            .value(ty, property)
            .map(|v| SortKey::Text(v.to_lowercase())),
    }
}

/// The first sort rule: `{propertyName, direction}`, or the string form `"prop"` / `"-prop"`.
fn first_sort(sorts: &[Value]) -> (String, bool) {
    let default = ("createdate".to_string(), false);
    match sorts.first() {
        Some(Value::Object(o)) => {
            let Some(name) = o.get("propertyName").and_then(Value::as_str) else {
                return default;
            };
            let descending = o
                .get("direction")
                .and_then(Value::as_str)
                .is_some_and(|d| d.eq_ignore_ascii_case("DESCENDING"));
            (name.to_string(), descending)
        }
        Some(Value::String(s)) => match s.strip_prefix('-') {
            Some(name) => (name.to_string(), true),
            None => (s.clone(), false),
        },
        _ => default,
    }
}

fn number_field(value: Option<&Value>, name: &str) -> Result<Option<usize>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|n| Some(n as usize))
            .ok_or_else(|| ApiError::validation(format!("{name} must be a non-negative integer"))),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<usize>().map(Some).map_err(|_| {
            ApiError::validation(format!("{name} must be an integer offset, got \"{s}\""))
        }),
        Some(other) => Err(ApiError::validation(format!(
            "{name} must be an integer, got {other}"
        ))),
    }
}

#[derive(Serialize)]
struct SearchPage<'a> {
    total: usize,
    results: Vec<RecordView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Value>,
}

/// `POST /crm/v3/objects/{type}/search`.
pub(crate) async fn search(
    State(shared): State<AppState>,
    Path(object_type): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = resolve_type(&object_type)?;
    let input: SearchBody = parse_json(&body)?;
    let cfg = &shared.config;

    let groups = input.filter_groups.unwrap_or_default();
    if groups.len() > cfg.max_filter_groups {
        return Err(ApiError::validation(format!(
            "Too many filter groups: {}. A search may have at most {} filterGroups.",
            groups.len(),
            cfg.max_filter_groups
        )));
    }
    let total_filters: usize = groups.iter().map(|g| g.filters.len()).sum();
    if let Some(g) = groups
        .iter()
        .find(|g| g.filters.len() > cfg.max_filters_per_group)
    {
        return Err(ApiError::validation(format!(
            "Too many filters in a filter group: {}. A filter group may have at most {} filters.",
            g.filters.len(),
            cfg.max_filters_per_group
        )));
    }
    if total_filters > cfg.max_filters_total {
        return Err(ApiError::validation(format!(
            "Too many filters: {total_filters}. A search may have at most {} filters in all.",
            cfg.max_filters_total
        )));
    }
    let compiled: Vec<Vec<Condition>> = groups
        .iter()
        .map(|g| {
            g.filters
                .iter()
                .map(|f| compile(ty, f))
                .collect::<Result<_, _>>()
        })
        .collect::<Result<_, _>>()?;
    let query = input.query.unwrap_or_default();
    if query.chars().count() > 3000 {
        return Err(ApiError::validation(
            "The query string may be at most 3000 characters long.",
        ));
    }
    let terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();

    let limit = number_field(input.limit.as_ref(), "limit")?.unwrap_or(10);
    if limit > cfg.search_max_limit {
        return Err(ApiError::validation(format!(
            "limit must be less than or equal to {}",
            cfg.search_max_limit
        ))
        .with("errors", json!([{"message": format!("must be less than or equal to {}", cfg.search_max_limit), "in": "limit"}])));
    }
    let after = number_field(input.after.as_ref(), "after")?.unwrap_or(0);
    if after >= cfg.search_max_results || after + limit > cfg.search_max_results {
        return Err(ApiError::validation(format!(
            "Paging past {} results is not supported: after={after}, limit={limit}. Narrow the search \
             instead (for example with a date filter).",
            cfg.search_max_results
        )));
    }
    let (sort_property, descending) = first_sort(input.sorts.as_deref().unwrap_or_default());
    let props = Selection::new(ty, input.properties.as_deref().unwrap_or_default());

    let store = shared.read();
    let mut hits: Vec<(Option<SortKey>, &Record)> = store
        .object(ty)
        .live
        .values()
        .filter(|r| {
            compiled.is_empty() || compiled.iter().any(|g| g.iter().all(|c| matches(c, ty, r)))
        })
        .filter(|r| terms.is_empty() || matches_query(ty, r, &terms))
        .map(|r| (sort_key(ty, r, &sort_property), r))
        .collect();
    // Records without a value sort last either way; ties go by id, ascending.
    hits.sort_by(|(ka, ra), (kb, rb)| {
        let by_key = match (ka, kb) {
            (Some(a), Some(b)) => {
                let o = a.partial_cmp(b).unwrap_or(Ordering::Equal);
                if descending { o.reverse() } else { o }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        by_key.then(ra.id.cmp(&rb.id))
    });
    let total = hits.len();
    let results: Vec<RecordView<'_>> = hits
        .iter()
        .skip(after)
        .take(limit)
        .map(|(_, r)| RecordView::plain(ty, r, &props, &store))
        .collect();
    let next = after + limit;
    let paging = (limit > 0 && next < total).then(|| json!({"next": {"after": next.to_string()}}));
    Ok(json_body(
        StatusCode::OK,
        &SearchPage {
            total,
            results,
            paging,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_on_word_boundaries_and_wildcards() {
        assert!(contains_token("ada@example.com", "example.com"));
        assert!(contains_token("Ada Lovelace", "lovelace"));
        assert!(!contains_token("Adalovelace", "ada"));
        assert!(contains_token("ada@gmail.com", "*@gmail.com"));
        assert!(!contains_token("ada@gmail.com", "*@yahoo.com"));
    }

    #[test]
    fn query_terms_prefix_words_in_any_case() {
        assert!(matches_term("Ada Lovelace", "love"));
        assert!(matches_term("ada@example.com", "ada@ex"));
        assert!(matches_term("Zoë Müller", "mü"));
        assert!(!matches_term("Ada Lovelace", "velace"));
    }

    #[test]
    fn glob_handles_every_position() {
        assert!(glob("a*c", "abc"));
        assert!(glob("*c", "abc"));
        assert!(glob("a*", "abc"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*d", "abc"));
    }
}
