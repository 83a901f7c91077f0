//! Binds a parsed query to the schema: fields and relationships exist, literals have their
//! field's type (Salesforce's `INVALID_FIELD` wording when not), relative dates become day
//! ranges, `FIELDS()` expands, and the limits on `OFFSET` and `FIELDS()` hold.

use chrono::{Datelike, Days, Months, NaiveDate};

use super::SoqlError;
use super::eval::{Column, Count, Filter, Operand, Order, Plan, Selected};
use super::lexer::CmpOp;
use super::parser::{Cond, Literal, OrderItem, Path, Query, RelativeDate, SelectItem};
use crate::salesforce::ids;
use crate::salesforce::schema::{self, FieldType, ObjectKind};
use crate::salesforce::values::{self, Val};

fn invalid_field(path: &Path, object: &str) -> SoqlError {
    SoqlError::new(
        "INVALID_FIELD",
        Some(path.pos),
        format!(
            "No such column '{}' on entity '{object}'. If you are attempting to use a custom field, \
             be sure to append the '__c' after the custom field name. Please reference your WSDL \
             or the describe call for the appropriate names.",
            path.parts.last().map_or("", String::as_str)
        ),
    )
}

/// Resolves a field path on `object`.
fn column(object: ObjectKind, path: &Path) -> Result<(String, Column), SoqlError> {
    let def = schema::def(object);
    match path.parts.as_slice() {
        [name] => def
            .field(name)
            .map(|i| (def.fields[i].name.to_string(), Column::Field(i)))
            .ok_or_else(|| invalid_field(path, def.name)),
        [relationship, name] => {
            let bad_relationship = || {
                SoqlError::new(
                    "INVALID_FIELD",
                    Some(path.pos),
                    format!(
                        "Didn't understand relationship '{relationship}' in field path. If you \
                         are attempting to use a custom relationship, be sure to append the \
                         '__r' after the custom relationship name. Please reference your WSDL \
                         or the describe call for the appropriate names."
                    ),
                )
            };
            let via = def
                .relationship(relationship)
                .ok_or_else(bad_relationship)?;
            let field = &def.fields[via];
            let targets: Vec<(ObjectKind, usize)> = field
                .reference_to
                .iter()
                .filter_map(|t| schema::object(t))
                .filter_map(|k| schema::def(k).field(name).map(|i| (k, i)))
                .collect();
            let &(first_kind, first_field) = targets.first().ok_or_else(|| {
                if field
                    .reference_to
                    .iter()
                    .all(|t| schema::object(t).is_none())
                {
                    bad_relationship()
                } else {
                    invalid_field(path, field.reference_to[0])
                }
            })?;
            let target_field = &schema::def(first_kind).fields[first_field];
            let rel = field.relationship.unwrap_or("");
            Ok((
                format!("{rel}.{}", target_field.name),
                Column::Related {
                    via,
                    relationship: rel,
                    name: target_field.name,
                    targets,
                    ty: target_field.ty,
                },
            ))
        }
        _ => Err(SoqlError::new(
            "INVALID_FIELD",
            Some(path.pos),
            format!(
                "Field path '{}' is deeper than this simulator supports (one relationship)",
                path.text()
            ),
        )),
    }
}

/// Compiles a parsed query; `now_ms` anchors relative date literals.
pub(crate) fn compile(query: &Query, now_ms: i64) -> Result<Plan, SoqlError> {
    let object = schema::object(&query.object).ok_or_else(|| {
        SoqlError::new(
            "INVALID_TYPE",
            Some(query.object_pos),
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom \
                 object, be sure to append the '__c' after the entity name. Please reference \
                 your WSDL or the describe call for the appropriate names.",
                query.object
            ),
        )
    })?;
    let def = schema::def(object);
    let mut columns: Vec<Selected> = Vec::new();
    let mut count = None;
    let mut add = |label: String, column: Column, pos: usize| {
        if columns.iter().any(|c| c.label.eq_ignore_ascii_case(&label)) {
            return Err(SoqlError::malformed(
                pos,
                format!("duplicate field selected: {label}"),
            ));
        }
        columns.push(Selected { label, column });
        Ok(())
    };
    for item in &query.items {
        match item {
            SelectItem::Field(path) => {
                let (label, c) = column(object, path)?;
                add(label, c, path.pos)?;
            }
            SelectItem::Fields(kind) => {
                if kind != "STANDARD" && query.limit.is_none_or(|l| l > 200) {
                    return Err(SoqlError::malformed(
                        query.object_pos,
                        "The SOQL FIELDS function must have a LIMIT of at most 200".to_string(),
                    ));
                }
                for (i, f) in def.fields.iter().enumerate() {
                    let wanted = match kind.as_str() {
                        "CUSTOM" => f.custom,
                        "STANDARD" => !f.custom,
                        _ => true,
                    };
                    if wanted {
                        add(f.name.to_string(), Column::Field(i), query.object_pos)?;
                    }
                }
            }
            SelectItem::CountAll => count = Some(Count::All),
            SelectItem::Count(path, alias) => {
                let (_, c) = column(object, path)?;
                count = Some(Count::Field {
                    column: c,
                    alias: alias.clone().unwrap_or_else(|| "expr0".to_string()),
                });
            }
        }
    }
    if count.is_some() && (query.items.len() > 1) {
        return Err(SoqlError::malformed(
            query.object_pos,
            "COUNT() and COUNT(field) must be the only element in the SELECT list".to_string(),
        ));
    }
    if let Some(offset) = query.offset {
        if offset > 2000 {
            return Err(SoqlError::new(
                "NUMBER_OUTSIDE_VALID_RANGE",
                None,
                "Maximum SOQL offset allowed is 2000".to_string(),
            ));
        }
    }
    let filter = match &query.filter {
        Some(cond) => Some(bind(object, cond, now_ms)?),
        None => None,
    };
    let order = query
        .order
        .iter()
        .map(|o: &OrderItem| {
            let (_, column) = self::column(object, &o.path)?;
            let exact = column.ty(object).is_id();
            Ok(Order {
                column,
                exact,
                descending: o.descending,
                nulls_last: o.nulls_last.unwrap_or(false),
            })
        })
        .collect::<Result<Vec<_>, SoqlError>>()?;
    Ok(Plan {
        object,
        columns,
        count,
        filter,
        order,
        limit: query
            .limit
            .map(|l| usize::try_from(l).unwrap_or(usize::MAX)),
        offset: query.offset.map_or(0, |o| o as usize),
    })
}

fn type_error(field: &str, ty: FieldType) -> String {
    let (name, quoted) = match ty {
        FieldType::Double | FieldType::Currency | FieldType::Percent => ("double", false),
        FieldType::Int => ("int", false),
        FieldType::Boolean => ("boolean", false),
        FieldType::Date => ("date", false),
        FieldType::DateTime => ("dateTime", false),
        FieldType::Id | FieldType::Reference => ("id", true),
        _ => ("string", true),
    };
    if quoted {
        format!(
            "value of filter criterion for field '{field}' must be of type {name} and should be enclosed in quotes"
        )
    } else {
        format!(
            "value of filter criterion for field '{field}' must be of type {name} and should not be enclosed in quotes"
        )
    }
}

/// `[start, end)` of a relative date literal, in milliseconds (UTC days, weeks from Sunday).
fn relative_range(r: RelativeDate, now_ms: i64) -> (i64, i64) {
    let today = values::date_of(now_ms);
    let day = |d: NaiveDate, n: i64| {
        if n >= 0 {
            d.checked_add_days(Days::new(n as u64)).unwrap_or(d)
        } else {
            d.checked_sub_days(Days::new(n.unsigned_abs())).unwrap_or(d)
        }
    };
    let month_start = today.with_day(1).unwrap_or(today);
    let add_months = |d: NaiveDate, n: i32| {
        if n >= 0 {
            d.checked_add_months(Months::new(n as u32)).unwrap_or(d)
        } else {
            d.checked_sub_months(Months::new(n.unsigned_abs()))
                .unwrap_or(d)
        }
    };
    let week_start = day(today, -i64::from(today.weekday().num_days_from_sunday()));
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let (start, end) = match r {
        RelativeDate::Today => (today, day(today, 1)),
        RelativeDate::Yesterday => (day(today, -1), today),
        RelativeDate::Tomorrow => (day(today, 1), day(today, 2)),
        RelativeDate::LastNDays(n) => (day(today, -i64::from(n)), day(today, 1)),
        RelativeDate::NextNDays(n) => (day(today, 1), day(today, 1 + i64::from(n))),
        RelativeDate::NDaysAgo(n) => (day(today, -i64::from(n)), day(today, 1 - i64::from(n))),
        RelativeDate::ThisWeek => (week_start, day(week_start, 7)),
        RelativeDate::LastWeek => (day(week_start, -7), week_start),
        RelativeDate::NextWeek => (day(week_start, 7), day(week_start, 14)),
        RelativeDate::ThisMonth => (month_start, add_months(month_start, 1)),
        RelativeDate::LastMonth => (add_months(month_start, -1), month_start),
        RelativeDate::NextMonth => (add_months(month_start, 1), add_months(month_start, 2)),
        RelativeDate::ThisYear => (year_start, add_months(year_start, 12)),
        RelativeDate::LastYear => (add_months(year_start, -12), year_start),
        RelativeDate::NextYear => (add_months(year_start, 12), add_months(year_start, 24)),
    };
    (values::midnight_ms(start), values::midnight_ms(end))
}

/// Checks a literal against the field's type and converts it.
fn operand(
    field: &str,
    ty: FieldType,
    lit: &Literal,
    now_ms: i64,
    pos: usize,
) -> Result<Operand, SoqlError> {
    let wrong = || SoqlError::new("INVALID_FIELD", Some(pos), type_error(field, ty));
    Ok(match lit {
        Literal::Null => Operand::Null,
        Literal::Str(s) if ty.is_id() => match ids::normalize(&s.value) {
            Some(id) => Operand::Value(Val::Str(id)),
            None => {
                return Err(SoqlError::new(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    Some(pos),
                    format!("invalid ID field: {}", s.value),
                ));
            }
        },
        Literal::Str(s) if ty.is_text() => Operand::Value(Val::Str(s.value.clone())),
        Literal::Num(n) if ty.is_number() => Operand::Value(Val::Num(*n)),
        Literal::Bool(b) if ty == FieldType::Boolean => Operand::Value(Val::Bool(*b)),
        Literal::Date(d) if ty == FieldType::Date => Operand::Value(Val::Date(*d)),
        Literal::DateTime(ms) if ty == FieldType::DateTime => Operand::Value(Val::DateTime(*ms)),
        Literal::Relative(r) if matches!(ty, FieldType::Date | FieldType::DateTime) => {
            let (start, end) = relative_range(*r, now_ms);
            Operand::Range(start, end)
        }
        _ => return Err(wrong()),
    })
}

fn bind(object: ObjectKind, cond: &Cond, now_ms: i64) -> Result<Filter, SoqlError> {
    let all = |parts: &[Cond]| -> Result<Vec<Filter>, SoqlError> {
        parts.iter().map(|c| bind(object, c, now_ms)).collect()
    };
    Ok(match cond {
        Cond::And(parts) => Filter::And(all(parts)?),
        Cond::Or(parts) => Filter::Or(all(parts)?),
        Cond::Not(inner) => Filter::Not(Box::new(bind(object, inner, now_ms)?)),
        Cond::Cmp { path, op, value } => {
            let (label, column) = column(object, path)?;
            let ty = column.ty(object);
            let operand = operand(&label, ty, value, now_ms, path.pos)?;
            if matches!(operand, Operand::Null) && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                return Err(SoqlError::new(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    Some(path.pos),
                    format!("invalid operator on null for field '{label}'"),
                ));
            }
            Filter::Cmp {
                column,
                exact: ty.is_id(),
                op: *op,
                operand,
            }
        }
        Cond::In {
            path,
            negated,
            values,
        } => {
            let (label, column) = column(object, path)?;
            let ty = column.ty(object);
            let values = values
                .iter()
                .map(|v| operand(&label, ty, v, now_ms, path.pos))
                .collect::<Result<Vec<_>, _>>()?;
            Filter::In {
                column,
                exact: ty.is_id(),
                negated: *negated,
                values,
            }
        }
        Cond::Like { path, pattern } => {
            let (label, column) = column(object, path)?;
            let ty = column.ty(object);
            if !ty.is_text() || ty.is_id() {
                return Err(SoqlError::new(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    Some(path.pos),
                    format!("invalid operator on field '{label}': LIKE needs a text field"),
                ));
            }
            Filter::Like {
                column,
                pattern: pattern.pattern.clone(),
            }
        }
    })
}

/// Compares two values; ids exactly, text without regard to case.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_dates_are_day_ranges() {
        let now = 1_714_557_600_000; // 2024-05-01T10:00:00Z, a Wednesday
        let day = 86_400_000;
        let today = now - 10 * 3_600_000;
        assert_eq!(
            relative_range(RelativeDate::Today, now),
            (today, today + day)
        );
        assert_eq!(
            relative_range(RelativeDate::LastNDays(2), now),
            (today - 2 * day, today + day)
        );
        assert_eq!(
            relative_range(RelativeDate::ThisWeek, now).0,
            today - 3 * day
        );
        assert_eq!(relative_range(RelativeDate::ThisMonth, now).0, today);
    }
}
