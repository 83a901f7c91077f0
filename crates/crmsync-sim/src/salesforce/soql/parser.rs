//! A recursive-descent parser for the SOQL subset real clients send:
//!
//! ```text
//! query   := SELECT items FROM name [WHERE cond] [WITH name] [ORDER BY order (, order)*]
//!            [LIMIT n] [OFFSET n] [FOR (VIEW|REFERENCE|UPDATE)]
//! items   := item (, item)*      item := COUNT() | COUNT(path) [alias] | FIELDS(ALL|STANDARD|CUSTOM) | path
//! cond    := unary ((AND unary)* | (OR unary)*)      -- AND and OR never mix without parentheses
//! unary   := NOT unary | ( cond ) | path op value | path [NOT] IN (value, ...) | path LIKE string
//! value   := string | number | TRUE | FALSE | NULL | date | datetime | TODAY | LAST_N_DAYS:n | ...
//! order   := path [ASC|DESC] [NULLS (FIRST|LAST)]
//! ```

use chrono::NaiveDate;

use super::SoqlError;
use super::lexer::{CmpOp, StrLit, Tok, Token, tokenize};

/// A dotted field path (`Email`, `Account.Name`) and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    pub parts: Vec<String>,
    pub pos: usize,
}

impl Path {
    pub(crate) fn text(&self) -> String {
        self.parts.join(".")
    }
}

/// One element of the SELECT list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SelectItem {
    Field(Path),
    /// `COUNT()`.
    CountAll,
    /// `COUNT(field) [alias]`.
    Count(Path, Option<String>),
    /// `FIELDS(ALL|STANDARD|CUSTOM)`, upper-cased.
    Fields(String),
}

/// A relative date literal (`TODAY`, `LAST_N_DAYS:30`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelativeDate {
    Today,
    Yesterday,
    Tomorrow,
    LastNDays(u32),
    NextNDays(u32),
    NDaysAgo(u32),
    ThisWeek,
    LastWeek,
    NextWeek,
    ThisMonth,
    LastMonth,
    NextMonth,
    ThisYear,
    LastYear,
    NextYear,
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(StrLit),
    Num(f64),
    Bool(bool),
    Null,
    Date(NaiveDate),
    DateTime(i64),
    Relative(RelativeDate),
}

/// A WHERE condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        path: Path,
        op: CmpOp,
        value: Literal,
    },
    In {
        path: Path,
        negated: bool,
        values: Vec<Literal>,
    },
    Like {
        path: Path,
        pattern: StrLit,
    },
}

/// One ORDER BY element.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderItem {
    pub path: Path,
    pub descending: bool,
    /// `Some(true)` for NULLS LAST, `Some(false)` for NULLS FIRST.
    pub nulls_last: Option<bool>,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub items: Vec<SelectItem>,
    pub object: String,
    pub object_pos: usize,
    pub filter: Option<Cond>,
    pub order: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// Parses one SOQL statement.
pub(crate) fn parse(query: &str) -> Result<Query, SoqlError> {
    let tokens = tokenize(query)?;
    let mut p = Parser { tokens, at: 0 };
    let q = p.query()?;
    match &p.peek().tok {
        Tok::End => Ok(q),
        other => Err(p.unexpected(other.clone())),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

/// Words that end a FROM clause or start the next one.
const CLAUSES: &[&str] = &[
    "WHERE", "WITH", "GROUP", "ORDER", "LIMIT", "OFFSET", "FOR", "USING", "HAVING",
];

impl Parser {
    fn peek(&self) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[self.at.min(last)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn unexpected(&self, tok: Tok) -> SoqlError {
        SoqlError::malformed(
            self.peek().pos,
            format!("unexpected token: {}", tok.describe()),
        )
    }

    /// Whether the next token is the keyword `word` (any case).
    fn at_keyword(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let yes = self.at_keyword(word);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), SoqlError> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected(self.peek().tok.clone()))
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), SoqlError> {
        if &self.peek().tok == tok {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected(self.peek().tok.clone()))
        }
    }

    fn ident(&mut self) -> Result<(String, usize), SoqlError> {
        let t = self.next();
        match t.tok {
            Tok::Ident(s) => Ok((s, t.pos)),
            other => {
                self.at -= 1;
                Err(self.unexpected(other))
            }
        }
    }

    fn path(&mut self) -> Result<Path, SoqlError> {
        let (first, pos) = self.ident()?;
        let mut parts = vec![first];
        while self.peek().tok == Tok::Dot {
            self.at += 1;
            parts.push(self.ident()?.0);
        }
        Ok(Path { parts, pos })
    }

    fn unsigned(&mut self) -> Result<u64, SoqlError> {
        let t = self.next();
        match t.tok {
            Tok::Num(n) if n >= 0.0 && n.fract() == 0.0 && n < 1e15 => Ok(n as u64),
            other => {
                self.at -= 1;
                Err(self.unexpected(other))
            }
        }
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_keyword("SELECT")?;
        let mut items = vec![self.item()?];
        while self.peek().tok == Tok::Comma {
            self.at += 1;
            items.push(self.item()?);
        }
        self.expect_keyword("FROM")?;
        let (object, object_pos) = self.ident()?;
        if let Tok::Ident(word) = &self.peek().tok {
            if !CLAUSES.iter().any(|c| c.eq_ignore_ascii_case(word)) {
                return Err(self.unexpected(self.peek().tok.clone()));
            }
        }
        if self.eat_keyword("USING") {
            self.expect_keyword("SCOPE")?;
            self.ident()?;
        }
        let filter = if self.eat_keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        if self.eat_keyword("WITH") {
            self.ident()?;
        }
        if self.at_keyword("GROUP") || self.at_keyword("HAVING") {
            return Err(SoqlError::malformed(
                self.peek().pos,
                "GROUP BY and HAVING are not supported by this simulator".to_string(),
            ));
        }
        let mut order = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                order.push(self.order_item()?);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.at += 1;
            }
        }
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.unsigned()?)
        } else {
            None
        };
        let offset = if self.eat_keyword("OFFSET") {
            Some(self.unsigned()?)
        } else {
            None
        };
        if self.eat_keyword("FOR") {
            let (word, pos) = self.ident()?;
            if !["VIEW", "REFERENCE", "UPDATE"]
                .iter()
                .any(|w| w.eq_ignore_ascii_case(&word))
            {
                return Err(SoqlError::malformed(
                    pos,
                    format!("unexpected token: {word}"),
                ));
            }
        }
        Ok(Query {
            items,
            object,
            object_pos,
            filter,
            order,
            limit,
            offset,
        })
    }

    fn item(&mut self) -> Result<SelectItem, SoqlError> {
        if self.peek().tok == Tok::LParen {
            return Err(SoqlError::malformed(
                self.peek().pos,
                "relationship subqueries are not supported by this simulator".to_string(),
            ));
        }
        let is_call = matches!(self.tokens.get(self.at + 1), Some(t) if t.tok == Tok::LParen);
        if is_call && self.at_keyword("COUNT") {
            self.at += 2;
            if self.peek().tok == Tok::RParen {
                self.at += 1;
                return Ok(SelectItem::CountAll);
            }
            let path = self.path()?;
            self.expect(&Tok::RParen)?;
            let alias = match &self.peek().tok {
                Tok::Ident(a) if !a.eq_ignore_ascii_case("FROM") => {
                    let a = a.clone();
                    self.at += 1;
                    Some(a)
                }
                _ => None,
            };
            return Ok(SelectItem::Count(path, alias));
        }
        if is_call && self.at_keyword("FIELDS") {
            self.at += 2;
            let (kind, pos) = self.ident()?;
            let kind = kind.to_ascii_uppercase();
            if !["ALL", "STANDARD", "CUSTOM"].contains(&kind.as_str()) {
                return Err(SoqlError::malformed(
                    pos,
                    format!("unexpected token: {kind}"),
                ));
            }
            self.expect(&Tok::RParen)?;
            return Ok(SelectItem::Fields(kind));
        }
        if is_call {
            let (name, pos) = self.ident()?;
            return Err(SoqlError::malformed(
                pos,
                format!("function {name} is not supported by this simulator"),
            ));
        }
        Ok(SelectItem::Field(self.path()?))
    }

    fn order_item(&mut self) -> Result<OrderItem, SoqlError> {
        let path = self.path()?;
        let descending = if self.eat_keyword("DESC") {
            true
        } else {
            self.eat_keyword("ASC");
            false
        };
        let nulls_last = if self.eat_keyword("NULLS") {
            if self.eat_keyword("LAST") {
                Some(true)
            } else {
                self.expect_keyword("FIRST")?;
                Some(false)
            }
        } else {
            None
        };
        Ok(OrderItem {
            path,
            descending,
            nulls_last,
        })
    }

    /// `unary ((AND unary)* | (OR unary)*)`: Salesforce refuses `a AND b OR c`.
    fn condition(&mut self) -> Result<Cond, SoqlError> {
        let first = self.unary()?;
        let joiner = if self.at_keyword("AND") {
            "AND"
        } else if self.at_keyword("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut parts = vec![first];
        while self.eat_keyword(joiner) {
            parts.push(self.unary()?);
        }
        if self.at_keyword("AND") || self.at_keyword("OR") {
            return Err(self.unexpected(self.peek().tok.clone()));
        }
        Ok(if joiner == "AND" {
            Cond::And(parts)
        } else {
            Cond::Or(parts)
        })
    }

    fn unary(&mut self) -> Result<Cond, SoqlError> {
        if self.eat_keyword("NOT") {
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.at += 1;
            let inner = self.condition()?;
            self.expect(&Tok::RParen)?;
            return Ok(inner);
        }
        let path = self.path()?;
        let t = self.next();
        match t.tok {
            Tok::Op(op) => Ok(Cond::Cmp {
                path,
                op,
                value: self.literal()?,
            }),
            Tok::Ident(w) if w.eq_ignore_ascii_case("IN") => Ok(Cond::In {
                path,
                negated: false,
                values: self.list()?,
            }),
            Tok::Ident(w) if w.eq_ignore_ascii_case("NOT") => {
                self.expect_keyword("IN")?;
                Ok(Cond::In {
                    path,
                    negated: true,
                    values: self.list()?,
                })
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("LIKE") => match self.next().tok {
                Tok::Str(pattern) => Ok(Cond::Like { path, pattern }),
                other => {
                    self.at -= 1;
                    Err(self.unexpected(other))
                }
            },
            Tok::Ident(w)
                if w.eq_ignore_ascii_case("INCLUDES") || w.eq_ignore_ascii_case("EXCLUDES") =>
            {
                Err(SoqlError::malformed(
                    t.pos,
                    format!("{w} is only valid for multi-select picklist fields"),
                ))
            }
            other => {
                self.at -= 1;
                Err(self.unexpected(other))
            }
        }
    }

    fn list(&mut self) -> Result<Vec<Literal>, SoqlError> {
        self.expect(&Tok::LParen)?;
        if self.at_keyword("SELECT") {
            return Err(SoqlError::malformed(
                self.peek().pos,
                "semi-join subqueries are not supported by this simulator".to_string(),
            ));
        }
        let mut values = vec![self.literal()?];
        while self.peek().tok == Tok::Comma {
            self.at += 1;
            values.push(self.literal()?);
        }
        self.expect(&Tok::RParen)?;
        Ok(values)
    }

    fn literal(&mut self) -> Result<Literal, SoqlError> {
        let t = self.next();
        let word = match t.tok {
            Tok::Str(s) => return Ok(Literal::Str(s)),
            Tok::Num(n) => return Ok(Literal::Num(n)),
            Tok::Date(d) => return Ok(Literal::Date(d)),
            Tok::DateTime(ms) => return Ok(Literal::DateTime(ms)),
            Tok::Ident(w) => w.to_ascii_uppercase(),
            other => {
                self.at -= 1;
                return Err(self.unexpected(other));
            }
        };
        let fixed = match word.as_str() {
            "TRUE" => Literal::Bool(true),
            "FALSE" => Literal::Bool(false),
            "NULL" => Literal::Null,
            "TODAY" => Literal::Relative(RelativeDate::Today),
            "YESTERDAY" => Literal::Relative(RelativeDate::Yesterday),
            "TOMORROW" => Literal::Relative(RelativeDate::Tomorrow),
            "THIS_WEEK" => Literal::Relative(RelativeDate::ThisWeek),
            "LAST_WEEK" => Literal::Relative(RelativeDate::LastWeek),
            "NEXT_WEEK" => Literal::Relative(RelativeDate::NextWeek),
            "THIS_MONTH" => Literal::Relative(RelativeDate::ThisMonth),
            "LAST_MONTH" => Literal::Relative(RelativeDate::LastMonth),
            "NEXT_MONTH" => Literal::Relative(RelativeDate::NextMonth),
            "THIS_YEAR" => Literal::Relative(RelativeDate::ThisYear),
            "LAST_YEAR" => Literal::Relative(RelativeDate::LastYear),
            "NEXT_YEAR" => Literal::Relative(RelativeDate::NextYear),
            "LAST_N_DAYS" | "NEXT_N_DAYS" | "N_DAYS_AGO" => {
                self.expect(&Tok::Colon)?;
                let n = u32::try_from(self.unsigned()?).map_err(|_| {
                    SoqlError::malformed(t.pos, format!("{word}: the number is too large"))
                })?;
                Literal::Relative(match word.as_str() {
                    "LAST_N_DAYS" => RelativeDate::LastNDays(n),
                    "NEXT_N_DAYS" => RelativeDate::NextNDays(n),
                    _ => RelativeDate::NDaysAgo(n),
                })
            }
            _ => {
                self.at -= 1;
                return Err(self.unexpected(Tok::Ident(word)));
            }
        };
        Ok(fixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_query() {
        let q = parse(
            "select Id, Account.Name FROM Contact WHERE (Email LIKE '%@x.com' OR Email = null) \
             AND NOT Name IN ('a', 'b') AND CreatedDate > LAST_N_DAYS:30 \
             ORDER BY LastName DESC NULLS LAST, Id LIMIT 10 OFFSET 5",
        );
        let Ok(q) = q else {
            panic!("{q:?}");
        };
        assert_eq!(q.object, "Contact");
        assert_eq!(q.items.len(), 2);
        assert!(matches!(&q.filter, Some(Cond::And(parts)) if parts.len() == 3));
        assert_eq!(q.order.len(), 2);
        assert_eq!((q.limit, q.offset), (Some(10), Some(5)));
    }

    #[test]
    fn refuses_mixed_and_or_and_trailing_tokens() {
        assert!(parse("SELECT Id FROM Contact WHERE A = 1 AND B = 2 OR C = 3").is_err());
        assert!(parse("SELECT Id FROM Contact WHERE A = 1 AND (B = 2 OR C = 3)").is_ok());
        assert!(parse("SELECT Id FROM Contact LIMIT 5 garbage").is_err());
        assert!(parse("SELECT Id FROM Contact WHERE Name = 'x' OR Name != ''").is_ok());
        assert!(parse("SELECT FROM Contact").is_err());
        assert!(parse("SELECT COUNT() FROM Lead").is_ok());
    }

    #[test]
    fn injection_stays_inside_the_literal() {
        let q = parse(r"SELECT Id FROM Contact WHERE Name = 'x\' OR Name != \''");
        let Ok(Query {
            filter:
                Some(Cond::Cmp {
                    value: Literal::Str(s),
                    ..
                }),
            ..
        }) = q
        else {
            panic!("{q:?}");
        };
        assert_eq!(s.value, "x' OR Name != '");
    }
}
