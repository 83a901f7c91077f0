//! SOQL: a tokenizer ([`lexer`]), a recursive-descent parser ([`parser`]), a compiler that
//! binds a query to the schema (`compile`), and an evaluator that runs it over the store
//! ([`eval`]).
//!
//! Literals are decoded exactly as Salesforce does, so a provider that escapes values with
//! backslashes gets precisely the value it meant, and a value can never break out of its
//! literal (`' OR Name != '` stays one string).

mod compile;
pub(crate) mod eval;
pub(crate) mod lexer;
pub(crate) mod parser;

use super::errors::ApiError;

pub(crate) use compile::compile;
pub(crate) use eval::{Column, Count, Plan};

/// Why a query was refused: an error code (`MALFORMED_QUERY`, `INVALID_FIELD`,
/// `INVALID_TYPE`, ...), a message, and where in the query the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SoqlError {
    pub code: &'static str,
    pub message: String,
    /// Character offset in the query.
    pub pos: Option<usize>,
}

impl SoqlError {
    pub(crate) fn malformed(pos: usize, message: String) -> Self {
        Self {
            code: "MALFORMED_QUERY",
            message,
            pos: Some(pos),
        }
    }

    pub(crate) fn new(code: &'static str, pos: Option<usize>, message: String) -> Self {
        Self { code, message, pos }
    }

    /// The 400 answer, worded like Salesforce's: the query, a caret under the problem, the
    /// row and column, then the reason.
    pub(crate) fn into_api(self, query: &str) -> ApiError {
        let message = match self.pos {
            Some(pos) => {
                let before: String = query.chars().take(pos).collect();
                let row = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                let line = query.lines().nth(row - 1).unwrap_or("");
                format!(
                    "\n{line}\n{caret:>width$}\nERROR at Row:{row}:Column:{column}\n{msg}",
                    caret = "^",
                    width = column,
                    msg = self.message
                )
            }
            None => self.message,
        };
        ApiError::bad_request(self.code, message)
    }
}

/// Parses and compiles a query, mapping problems to Salesforce's 400 answers.
pub(crate) fn prepare(query: &str, now_ms: i64) -> Result<Plan, ApiError> {
    parser::parse(query)
        .and_then(|q| compile(&q, now_ms))
        .map_err(|e| e.into_api(query))
}

/// A string literal of a query as the simulator decodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlLiteral {
    /// The decoded value.
    pub value: String,
    /// How many bare (unescaped) `%` and `_` wildcards it holds as a `LIKE` pattern.
    pub wildcards: usize,
}

/// Parses and compiles `query` as the simulator's query endpoint does, then returns its
/// string literals in order; a refused query is its 400 message. For the fuzz targets
/// (`fuzz/`), which check that the provider's escaping round-trips.
pub fn string_literals(query: &str) -> Result<Vec<SoqlLiteral>, String> {
    let refused = |e: SoqlError| format!("{}: {}", e.code, e.message);
    parser::parse(query)
        .and_then(|q| compile(&q, 0))
        .map_err(refused)?;
    let tokens = lexer::tokenize(query).map_err(refused)?;
    Ok(tokens
        .into_iter()
        .filter_map(|t| match t.tok {
            lexer::Tok::Str(s) => Some(SoqlLiteral {
                wildcards: s
                    .pattern
                    .iter()
                    .filter(|p| !matches!(p, lexer::LikePart::Char(_)))
                    .count(),
                value: s.value,
            }),
            _ => None,
        })
        .collect())
}
