//! Evaluating a parsed expression under a step budget and a size cap.

use serde_json::{Number, Value};

use super::{
    MAX_STEPS, MAX_TEXT,
    parse::{BinOp, Func, Node},
};
use crate::transforms::{TransformError, kind};

/// One evaluation: the input and the steps left.
pub(crate) struct Eval<'v> {
    input: &'v Value,
    steps: usize,
}

type Out = Result<Value, TransformError>;

fn fail(message: impl Into<String>) -> TransformError {
    TransformError::new(format!("expression failed: {}", message.into()))
}

impl<'v> Eval<'v> {
    pub(crate) fn new(input: &'v Value) -> Self {
        Self { input, steps: 0 }
    }

    /// Spends `n` steps, failing once the budget is gone.
    fn spend(&mut self, n: usize) -> Result<(), TransformError> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > MAX_STEPS {
            return Err(fail(format!(
                "it took more than {MAX_STEPS} steps; simplify it"
            )));
        }
        Ok(())
    }

    pub(crate) fn eval(&mut self, node: &Node) -> Out {
        self.spend(1)?;
        match node {
            Node::Lit(v) => Ok(v.clone()),
            Node::Input => {
                self.spend(size(self.input) / 64)?;
                Ok(self.input.clone())
            }
            Node::Not(inner) => {
                let v = self.eval(inner)?;
                Ok(Value::Bool(!truthy(&v)))
            }
            Node::Neg(inner) => {
                let v = self.eval(inner)?;
                number_value(-as_number(&v)?)
            }
            Node::Binary(BinOp::And, a, b) => {
                let a = self.eval(a)?;
                if !truthy(&a) {
                    return Ok(Value::Bool(false));
                }
                let b = self.eval(b)?;
                Ok(Value::Bool(truthy(&b)))
            }
            Node::Binary(BinOp::Or, a, b) => {
                let a = self.eval(a)?;
                if truthy(&a) {
                    return Ok(Value::Bool(true));
                }
                let b = self.eval(b)?;
                Ok(Value::Bool(truthy(&b)))
            }
            Node::Binary(op, a, b) => {
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                self.binary(*op, &a, &b)
            }
            Node::Index(list, index) => {
                let list = self.eval(list)?;
                let index = self.eval(index)?;
                get(&list, &index)
            }
            Node::Call(func, args) => self.call(*func, args),
        }
    }

    fn binary(&mut self, op: BinOp, a: &Value, b: &Value) -> Out {
        match op {
            BinOp::Eq => Ok(Value::Bool(loose_eq(a, b))),
            BinOp::Ne => Ok(Value::Bool(!loose_eq(a, b))),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ordering = match (a, b) {
                    (Value::String(x), Value::String(y)) => x.cmp(y),
                    _ => as_number(a)?
                        .partial_cmp(&as_number(b)?)
                        .ok_or_else(|| fail("cannot compare these numbers"))?,
                };
                Ok(Value::Bool(match op {
                    BinOp::Lt => ordering.is_lt(),
                    BinOp::Le => ordering.is_le(),
                    BinOp::Gt => ordering.is_gt(),
                    _ => ordering.is_ge(),
                }))
            }
            BinOp::Add if a.is_number() && b.is_number() => {
                number_value(as_number(a)? + as_number(b)?)
            }
            BinOp::Add => self.concat(&[a, b]),
            BinOp::Sub => number_value(as_number(a)? - as_number(b)?),
            BinOp::Mul => number_value(as_number(a)? * as_number(b)?),
            BinOp::Div | BinOp::Rem => {
                let divisor = as_number(b)?;
                if divisor == 0.0 {
                    return Err(fail("division by zero"));
                }
                let n = as_number(a)?;
                number_value(if op == BinOp::Div {
                    n / divisor
                } else {
                    n % divisor
                })
            }
            BinOp::And | BinOp::Or => Ok(Value::Bool(truthy(a) && truthy(b))),
        }
    }

    fn concat(&mut self, parts: &[&Value]) -> Out {
        let mut texts = Vec::with_capacity(parts.len());
        for part in parts {
            texts.push(text_of(part)?);
        }
        let total: usize = texts.iter().map(String::len).sum();
        self.text(total)?;
        Ok(Value::String(texts.concat()))
    }

    /// Checks (and pays for) a text of `len` bytes about to be built.
    fn text(&mut self, len: usize) -> Result<(), TransformError> {
        if len > MAX_TEXT {
            return Err(fail(format!("it built text longer than {MAX_TEXT} bytes")));
        }
        self.spend(len / 64)
    }

    fn call(&mut self, func: Func, args: &[Node]) -> Out {
        // Lazy functions first: they evaluate only what they need.
        match func {
            Func::If => {
                let condition = self.eval(&args[0])?;
                return self.eval(&args[if truthy(&condition) { 1 } else { 2 }]);
            }
            Func::Coalesce => {
                for arg in args {
                    let v = self.eval(arg)?;
                    if !is_blank(&v) {
                        return Ok(v);
                    }
                }
                return Ok(Value::Null);
            }
            _ => {}
        }
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            values.push(self.eval(arg)?);
        }
        let v = &values;
        match func {
            Func::Upper | Func::Lower | Func::Trim => {
                let s = text_of(&v[0])?;
                let out = match func {
                    Func::Upper => s.to_uppercase(),
                    Func::Lower => s.to_lowercase(),
                    _ => s.trim().to_owned(),
                };
                self.text(out.len())?;
                Ok(Value::String(out))
            }
            Func::Len => Ok(Value::from(match &v[0] {
                Value::Null => 0,
                Value::Array(items) => items.len(),
                other => text_of(other)?.chars().count(),
            })),
            Func::Concat => {
                let parts: Vec<&Value> = v.iter().collect();
                self.concat(&parts)
            }
            Func::Replace => {
                let (s, from, to) = (text_of(&v[0])?, text_of(&v[1])?, text_of(&v[2])?);
                if from.is_empty() {
                    return Err(fail("replace() needs text to find"));
                }
                let count = s.matches(from.as_str()).count();
                let len =
                    (s.len() - count * from.len()).saturating_add(count.saturating_mul(to.len()));
                self.text(len)?;
                Ok(Value::String(s.replace(from.as_str(), &to)))
            }
            Func::Substr => {
                let s = text_of(&v[0])?;
                let start = whole(&v[1])?;
                let chars = s.chars().count();
                let start = if start < 0 {
                    chars.saturating_sub(start.unsigned_abs() as usize)
                } else {
                    (start as usize).min(chars)
                };
                let len = match v.get(2) {
                    Some(n) => usize::try_from(whole(n)?.max(0)).unwrap_or(usize::MAX),
                    None => chars,
                };
                Ok(Value::String(s.chars().skip(start).take(len).collect()))
            }
            Func::Eq => Ok(Value::Bool(loose_eq(&v[0], &v[1]))),
            Func::Number => number_value(as_number(&v[0])?),
            Func::Text => Ok(Value::String(text_of(&v[0])?)),
            Func::Round => {
                let digits = match v.get(1) {
                    Some(d) => whole(d)?.clamp(0, 10) as i32,
                    None => 0,
                };
                let scale = 10f64.powi(digits);
                number_value((as_number(&v[0])? * scale).round() / scale)
            }
            Func::Floor => number_value(as_number(&v[0])?.floor()),
            Func::Ceil => number_value(as_number(&v[0])?.ceil()),
            Func::Abs => number_value(as_number(&v[0])?.abs()),
            Func::Min | Func::Max => {
                let mut best = as_number(&v[0])?;
                for other in &v[1..] {
                    let n = as_number(other)?;
                    best = if func == Func::Min {
                        best.min(n)
                    } else {
                        best.max(n)
                    };
                }
                number_value(best)
            }
            Func::Split => {
                let (s, separator) = (text_of(&v[0])?, text_of(&v[1])?);
                if separator.is_empty() {
                    return Err(fail("split() needs a separator"));
                }
                let parts: Vec<Value> = s
                    .split(separator.as_str())
                    .map(|p| Value::String(p.to_owned()))
                    .collect();
                self.spend(parts.len())?;
                Ok(Value::Array(parts))
            }
            Func::Join => {
                let Value::Array(items) = &v[0] else {
                    return Err(fail(format!("join() needs a list, got {}", kind(&v[0]))));
                };
                let separator = text_of(&v[1])?;
                let mut texts = Vec::with_capacity(items.len());
                for item in items {
                    texts.push(text_of(item)?);
                }
                let len = texts.iter().map(String::len).sum::<usize>()
                    + separator.len().saturating_mul(texts.len());
                self.text(len)?;
                Ok(Value::String(texts.join(&separator)))
            }
            Func::Get => get(&v[0], &v[1]),
            Func::StartsWith => Ok(Value::Bool(text_of(&v[0])?.starts_with(&text_of(&v[1])?))),
            Func::EndsWith => Ok(Value::Bool(text_of(&v[0])?.ends_with(&text_of(&v[1])?))),
            Func::Contains => Ok(Value::Bool(match &v[0] {
                Value::Array(items) => items.iter().any(|i| loose_eq(i, &v[1])),
                other => text_of(other)?.contains(&text_of(&v[1])?),
            })),
            Func::IsBlank => Ok(Value::Bool(is_blank(&v[0]))),
            Func::If | Func::Coalesce => Ok(Value::Null),
        }
    }
}

/// The element at a whole-number index of a list (`null` when out of range; negative
/// indexes count from the end).
fn get(list: &Value, index: &Value) -> Out {
    let Value::Array(items) = list else {
        return Err(fail(format!(
            "only a list can be indexed, got {}",
            kind(list)
        )));
    };
    let i = whole(index)?;
    let i = if i < 0 {
        items.len().checked_sub(i.unsigned_abs() as usize)
    } else {
        usize::try_from(i).ok()
    };
    Ok(i.and_then(|i| items.get(i)).cloned().unwrap_or(Value::Null))
}

/// Rough size of a value in bytes, to charge for copying it.
fn size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(size).sum::<usize>() + items.len(),
        _ => 1,
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// Equal as values, numbers compared by value (`1 == 1.0`), and a number equal to text
/// that reads as it (`"42" == 42`: HubSpot sends numbers as text).
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_) | Value::String(_))
        | (Value::String(_), Value::Number(_)) => {
            matches!((as_number(a), as_number(b)), (Ok(x), Ok(y)) if x == y)
        }
        _ => a == b,
    }
}

fn as_number(value: &Value) -> Result<f64, TransformError> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite())
        .ok_or_else(|| fail(format!("expected a number, got {}", kind(value))))
}

fn whole(value: &Value) -> Result<i64, TransformError> {
    let n = as_number(value)?;
    if n.fract() != 0.0 || n.abs() > 9.0e15 {
        return Err(fail("expected a whole number"));
    }
    Ok(n as i64)
}

/// A number as a JSON value: whole numbers as integers.
fn number_value(n: f64) -> Out {
    if !n.is_finite() {
        return Err(fail("the result is not a finite number"));
    }
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        return Ok(Value::from(n as i64));
    }
    Number::from_f64(n)
        .map(Value::Number)
        .ok_or_else(|| fail("the result is not a finite number"))
}

/// A value as text: numbers and booleans written out, `null` empty.
fn text_of(value: &Value) -> Result<String, TransformError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(fail(format!("expected text, got {}", kind(other)))),
    }
}
