//! Compiled queries ([`Plan`]) and how they run over the store: filters, `LIKE`, ordering,
//! `OFFSET` and `LIMIT`.
//!
//! Semantics follow SOQL: text compares without regard to case, ids exactly; `= null` and
//! `!= null` test for emptiness; a null field matches `!=` and `NOT IN` but no range
//! operator; nulls sort first unless `NULLS LAST`; `IsDeleted` rows are seen only by
//! `queryAll`.

use std::cmp::Ordering;

use super::lexer::{CmpOp, LikePart};
use crate::salesforce::schema::{self, FieldType, ObjectKind};
use crate::salesforce::store::{Record, Store};
use crate::salesforce::values::{self, Val};

/// Where a selected or filtered value comes from.
#[derive(Debug, Clone)]
pub(crate) enum Column {
    /// A field of the queried object.
    Field(usize),
    /// A field of the record a reference field points at (`Account.Name`).
    Related {
        via: usize,
        relationship: &'static str,
        name: &'static str,
        /// The target objects that have the field, with its position in each.
        targets: Vec<(ObjectKind, usize)>,
        ty: FieldType,
    },
}

static NULL: Val = Val::Null;

impl Column {
    /// The value for `record`.
    pub(crate) fn value<'a>(&self, store: &'a Store, record: &'a Record) -> &'a Val {
        match self {
            Column::Field(i) => record.get(*i),
            Column::Related { targets, .. } => self
                .target(store, record)
                .and_then(|(kind, target)| {
                    targets
                        .iter()
                        .find(|(k, _)| *k == kind)
                        .map(|(_, i)| target.get(*i))
                })
                .unwrap_or(&NULL),
        }
    }

    /// The record a relationship column reads from.
    pub(crate) fn target<'a>(
        &self,
        store: &'a Store,
        record: &'a Record,
    ) -> Option<(ObjectKind, &'a Record)> {
        let Column::Related { via, .. } = self else {
            return None;
        };
        let id = record.get(*via).as_str()?;
        store.get_any(id)
    }

    pub(super) fn ty(&self, object: ObjectKind) -> FieldType {
        match self {
            Column::Field(i) => schema::def(object).fields[*i].ty,
            Column::Related { ty, .. } => *ty,
        }
    }
}

/// A selected column and its label (`Email`, `Account.Name`).
#[derive(Debug, Clone)]
pub(crate) struct Selected {
    pub label: String,
    pub column: Column,
}

/// An aggregate query.
#[derive(Debug, Clone)]
pub(crate) enum Count {
    /// `COUNT()`: only `totalSize` matters.
    All,
    /// `COUNT(field) [alias]`: one `AggregateResult` row.
    Field { column: Column, alias: String },
}

#[derive(Debug, Clone)]
pub(super) enum Operand {
    Null,
    Value(Val),
    /// `[start, end)` in milliseconds, from a relative date literal.
    Range(i64, i64),
}

#[derive(Debug, Clone)]
pub(super) enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Cmp {
        column: Column,
        exact: bool,
        op: CmpOp,
        operand: Operand,
    },
    In {
        column: Column,
        exact: bool,
        negated: bool,
        values: Vec<Operand>,
    },
    Like {
        column: Column,
        pattern: Vec<LikePart>,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Order {
    pub column: Column,
    pub exact: bool,
    pub descending: bool,
    pub nulls_last: bool,
}

/// A compiled query.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub object: ObjectKind,
    pub columns: Vec<Selected>,
    pub count: Option<Count>,
    pub(super) filter: Option<Filter>,
    pub(super) order: Vec<Order>,
    pub limit: Option<usize>,
    pub offset: usize,
}

fn compare(a: &Val, b: &Val, exact: bool) -> Option<Ordering> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) if exact => Some(x.as_str().cmp(y.as_str())),
        _ => a.compare(b),
    }
}

fn holds(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

fn instant(v: &Val) -> Option<i64> {
    match v {
        Val::DateTime(ms) => Some(*ms),
        Val::Date(d) => Some(values::midnight_ms(*d)),
        _ => None,
    }
}

fn test(v: &Val, op: CmpOp, operand: &Operand, exact: bool) -> bool {
    match operand {
        Operand::Null => match op {
            CmpOp::Eq => v.is_null(),
            CmpOp::Ne => !v.is_null(),
            _ => false,
        },
        _ if v.is_null() => op == CmpOp::Ne,
        Operand::Value(x) => compare(v, x, exact).map_or(op == CmpOp::Ne, |o| holds(op, o)),
        Operand::Range(start, end) => {
            let Some(ms) = instant(v) else {
                return op == CmpOp::Ne;
            };
            match op {
                CmpOp::Eq => *start <= ms && ms < *end,
                CmpOp::Ne => !(*start <= ms && ms < *end),
                CmpOp::Lt => ms < *start,
                CmpOp::Le => ms < *end,
                CmpOp::Gt => ms >= *end,
                CmpOp::Ge => ms >= *start,
            }
        }
    }
}

/// `LIKE` matching, without regard to case.
pub(crate) fn like(text: &str, pattern: &[LikePart]) -> bool {
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let p: Vec<LikePart> = pattern
        .iter()
        .map(|part| match part {
            LikePart::Char(c) => LikePart::Char(c.to_lowercase().next().unwrap_or(*c)),
            other => other.clone(),
        })
        .collect();
    // Greedy matching with backtracking to the last `%`.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(LikePart::Many) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(LikePart::One) => {
                ti += 1;
                pi += 1;
            }
            Some(LikePart::Char(c)) if *c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|x| *x == LikePart::Many)
}

impl Filter {
    fn matches(&self, store: &Store, record: &Record) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|f| f.matches(store, record)),
            Filter::Or(parts) => parts.iter().any(|f| f.matches(store, record)),
            Filter::Not(inner) => !inner.matches(store, record),
            Filter::Cmp {
                column,
                exact,
                op,
                operand,
            } => test(column.value(store, record), *op, operand, *exact),
            Filter::In {
                column,
                exact,
                negated,
                values,
            } => {
                let v = column.value(store, record);
                let found = values.iter().any(|o| test(v, CmpOp::Eq, o, *exact));
                found != *negated
            }
            Filter::Like { column, pattern } => column
                .value(store, record)
                .as_str()
                .is_some_and(|s| like(s, pattern)),
        }
    }
}

impl Plan {
    /// The ids of the matching records in result order, after OFFSET and LIMIT.
    /// `include_deleted` is `queryAll`.
    pub(crate) fn run(&self, store: &Store, include_deleted: bool) -> Vec<String> {
        let mut rows: Vec<&Record> = store
            .object(self.object)
            .records
            .values()
            .filter(|r| include_deleted || !r.is_deleted())
            .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(store, r)))
            .collect();
        if !self.order.is_empty() {
            rows.sort_by(|a, b| {
                for o in &self.order {
                    let (x, y) = (o.column.value(store, a), o.column.value(store, b));
                    let ord = match (x.is_null(), y.is_null()) {
                        (true, true) => Ordering::Equal,
                        (true, false) if o.nulls_last => Ordering::Greater,
                        (true, false) => Ordering::Less,
                        (false, true) if o.nulls_last => Ordering::Less,
                        (false, true) => Ordering::Greater,
                        (false, false) => {
                            let ord = compare(x, y, o.exact).unwrap_or(Ordering::Equal);
                            if o.descending { ord.reverse() } else { ord }
                        }
                    };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                Ordering::Equal
            });
        }
        rows.into_iter()
            .skip(self.offset)
            .take(self.limit.unwrap_or(usize::MAX))
            .map(|r| r.id().to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::soql::lexer::{Tok, tokenize};

    fn pattern(p: &str) -> Vec<LikePart> {
        match tokenize(p)
            .ok()
            .and_then(|t| t.into_iter().next())
            .map(|t| t.tok)
        {
            Some(Tok::Str(s)) => s.pattern,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn like_handles_wildcards_and_escapes() {
        assert!(like("ada@example.com", &pattern("'%@EXAMPLE.com'")));
        assert!(like("Ada", &pattern("'a_a'")));
        assert!(!like("Adda", &pattern("'a_a'")));
        assert!(like("100%", &pattern(r"'100\%'")));
        assert!(!like("1000", &pattern(r"'100\%'")));
        assert!(like("a_b", &pattern(r"'a\_b'")));
        assert!(!like("axb", &pattern(r"'a\_b'")));
        assert!(like("abcabc", &pattern("'%b%c'")));
        assert!(like("", &pattern("'%'")));
    }
}
