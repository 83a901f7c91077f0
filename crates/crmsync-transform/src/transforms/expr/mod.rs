//! `expr`: a small, sandboxed expression language for simple rules written in the
//! configuration, without Rust.
//!
//! ```toml
//! [[objects.contact.fields]]
//! local = "country_code"
//! remote = "Country"
//! transform = { name = "expr", inbound = "upper(trim(value))", outbound = "lower(value)" }
//! ```
//!
//! - `inbound` (remote → canonical) and `outbound` (canonical → remote) are each
//!   optional, but one is needed. With both, the rule may be bidirectional and the two
//!   are declared inverses; with one, the rule must flow that way only.
//! - `value` is the field's value (a list, in the rule's order, for a side with several
//!   fields). Literals: `'text'` or `"text"` (escapes `\n \t \\ \' \"`), numbers,
//!   `true`, `false`, `null`; `list[0]` indexes (negative from the end; out of range is
//!   `null`).
//! - Operators, loosest first: `||`, `&&`, `== != < <= > >=`, `+ -`, `* / %`, then
//!   `!` and unary `-`. `+` adds numbers and joins text; `==` compares numbers by value,
//!   also against text that reads as one (`"42" == 42`).
//! - Functions: `upper`, `lower`, `trim`, `len`, `concat(a, b, ...)`,
//!   `replace(s, from, to)`, `substr(s, start, len?)` (in characters; a negative start
//!   counts from the end), `if(cond, then, else)`, `eq(a, b)`, `coalesce(a, b, ...)`
//!   (the first that is not blank), `number`, `text`, `round(n, digits?)`, `floor`,
//!   `ceil`, `abs`, `min`, `max`, `split(s, sep)`, `join(list, sep)`, `get(list, i)`,
//!   `starts_with`, `ends_with`, `contains`, `is_blank`. `a.f(b)` means `f(a, b)`, so
//!   `value.split(' ')[0]` is the first word.
//! - `null`, `false`, `0`, `""` and `[]` are false in conditions; everything else true.
//!
//! Sandboxed: no I/O, no variables, no loops. Parsing is bounded (source length, nesting
//! depth, number of parts) and happens once, when the configuration compiles, so a
//! mistake is a configuration error naming the rule and the column. Each evaluation has
//! a step budget and a cap on the text it builds; running out fails the field, never the
//! process. Error messages never contain the value.
//!
//! ```
//! use crmsync_transform::transforms::Expr;
//! use serde_json::json;
//!
//! let first_word = Expr::parse("value.split(' ')[0]")?;
//! assert_eq!(first_word.eval(&json!("Ada Lovelace")).ok(), Some(json!("Ada")));
//! let score = Expr::parse("if(number(value) >= 80, 'hot', 'cold')")?;
//! assert_eq!(score.eval(&json!("87")).ok(), Some(json!("hot")));
//! assert!(Expr::parse("upper(value").is_err());
//! # Ok::<(), crmsync_transform::transforms::ExprError>(())
//! ```

use std::{fmt, sync::Arc};

use serde_json::{Map, Value};

use super::{Arity, RuleShape, Transform, TransformEnv, TransformError, TransformFactory};
use crate::FieldDirection;

mod eval;
mod parse;

#[cfg(test)]
mod tests;

/// Longest expression source, in bytes.
const MAX_SOURCE: usize = 4_096;
/// Deepest nesting of brackets, calls and unary operators.
const MAX_DEPTH: usize = 48;
/// Most parts (literals, names, operators, calls) in one expression.
const MAX_NODES: usize = 512;
/// Most steps one evaluation may take (a step per part, and one per 64 bytes of text).
const MAX_STEPS: usize = 20_000;
/// Longest text one operation may build, in bytes.
const MAX_TEXT: usize = 256 * 1024;

/// A parsed expression, ready to evaluate any number of times.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    source: String,
    node: parse::Node,
}

impl Expr {
    /// Parses an expression.
    ///
    /// # Errors
    /// [`ExprError`] naming the column (in characters, from 1) and what is wrong.
    pub fn parse(source: &str) -> Result<Self, ExprError> {
        Ok(Self {
            source: source.to_owned(),
            node: parse::parse(source)?,
        })
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression with `value` as its input.
    ///
    /// # Errors
    /// When an operation does not apply (a number expected, division by zero) or the
    /// budget runs out; the message never contains the value.
    pub fn eval(&self, value: &Value) -> Result<Value, TransformError> {
        eval::Eval::new(value).eval(&self.node)
    }
}

/// Why an expression did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    column: usize,
    message: String,
}

impl ExprError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        Self {
            column: column + 1,
            message: message.into(),
        }
    }

    /// The column (in characters, from 1) where the problem is.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ExprError {}

/// The `expr` transform of one rule: its `inbound` and `outbound` expressions.
#[derive(Clone, Debug)]
pub struct ExprTransform {
    inbound: Option<Expr>,
    outbound: Option<Expr>,
    arity: Arity,
}

impl ExprTransform {
    /// A transform from its expressions (at least one), for a rule of this arity.
    pub fn new(inbound: Option<Expr>, outbound: Option<Expr>, arity: Arity) -> Self {
        Self {
            inbound,
            outbound,
            arity,
        }
    }
}

impl Transform for ExprTransform {
    fn name(&self) -> &str {
        "expr"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        match &self.inbound {
            Some(expr) => expr.eval(value),
            None => Err(TransformError::new("the rule has no `inbound` expression")),
        }
    }

    fn outbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        match &self.outbound {
            Some(expr) => expr.eval(value),
            None => Err(TransformError::new("the rule has no `outbound` expression")),
        }
    }

    fn direction(&self) -> FieldDirection {
        match (&self.inbound, &self.outbound) {
            (Some(_), None) => FieldDirection::Inbound,
            (None, Some(_)) => FieldDirection::Outbound,
            _ => FieldDirection::Bidirectional,
        }
    }

    fn arity(&self) -> Arity {
        self.arity
    }
}

/// Builds [`ExprTransform`] from a rule's `inbound` and `outbound` options, parsing them
/// once.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExprFactory;

impl TransformFactory for ExprFactory {
    fn name(&self) -> &str {
        "expr"
    }

    fn build(
        &self,
        options: &Map<String, Value>,
        rule: RuleShape<'_>,
    ) -> Result<Arc<dyn Transform>, String> {
        if let Some(key) = options
            .keys()
            .find(|k| !matches!(k.as_str(), "inbound" | "outbound"))
        {
            return Err(format!(
                "unknown option `{key}`; it takes `inbound` and `outbound` expressions"
            ));
        }
        let parse = |key: &str| -> Result<Option<Expr>, String> {
            match options.get(key) {
                None => Ok(None),
                Some(Value::String(source)) => Expr::parse(source)
                    .map(Some)
                    .map_err(|err| format!("`{key}` expression does not parse {err}")),
                Some(_) => Err(format!("`{key}` must be an expression, as text")),
            }
        };
        let (inbound, outbound) = (parse("inbound")?, parse("outbound")?);
        if inbound.is_none() && outbound.is_none() {
            return Err("needs an `inbound` or `outbound` expression, e.g. \
                 { name = \"expr\", inbound = \"upper(trim(value))\" }"
                .to_owned());
        }
        let arity = Arity {
            local: rule.local.len().max(1),
            remote: rule.remote.len().max(1),
        };
        Ok(Arc::new(ExprTransform::new(inbound, outbound, arity)))
    }
}
