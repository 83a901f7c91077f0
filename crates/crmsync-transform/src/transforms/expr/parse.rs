//! The expression language's lexer and recursive-descent parser. Input size, nesting
//! depth and node count are bounded, so a hostile configuration cannot exhaust the
//! stack or memory at compile time.

use serde_json::Value;

use super::{ExprError, MAX_DEPTH, MAX_NODES, MAX_SOURCE};

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Lit(Value),
    Input,
    Call(Func, Vec<Node>),
    Not(Box<Node>),
    Neg(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Index(Box<Node>, Box<Node>),
}

/// Binary operators, by precedence class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

macro_rules! functions {
    ($($variant:ident = $name:literal ($min:literal, $max:literal)),* $(,)?) => {
        /// The built-in functions.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Func { $($variant),* }

        impl Func {
            fn lookup(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$variant),)* _ => None }
            }

            /// Fewest and most arguments.
            fn arity(self) -> (usize, usize) {
                match self { $(Self::$variant => ($min, $max)),* }
            }

            /// Every function's name, for messages.
            pub(crate) fn all() -> &'static [&'static str] {
                &[$($name),*]
            }
        }
    };
}

functions! {
    Upper = "upper"(1, 1),
    Lower = "lower"(1, 1),
    Trim = "trim"(1, 1),
    Len = "len"(1, 1),
    Concat = "concat"(1, 16),
    Replace = "replace"(3, 3),
    Substr = "substr"(2, 3),
    If = "if"(3, 3),
    Eq = "eq"(2, 2),
    Coalesce = "coalesce"(1, 16),
    Number = "number"(1, 1),
    Text = "text"(1, 1),
    Round = "round"(1, 2),
    Floor = "floor"(1, 1),
    Ceil = "ceil"(1, 1),
    Abs = "abs"(1, 1),
    Min = "min"(2, 16),
    Max = "max"(2, 16),
    Split = "split"(2, 2),
    Join = "join"(2, 2),
    Get = "get"(2, 2),
    StartsWith = "starts_with"(2, 2),
    EndsWith = "ends_with"(2, 2),
    Contains = "contains"(2, 2),
    IsBlank = "is_blank"(1, 1),
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Num(Value),
    Str(String),
    Ident(String),
    Punct(&'static str),
}

/// Parses a whole expression.
pub(crate) fn parse(source: &str) -> Result<Node, ExprError> {
    if source.len() > MAX_SOURCE {
        return Err(ExprError::new(
            0,
            format!("the expression is longer than {MAX_SOURCE} bytes; shorten it"),
        ));
    }
    let tokens = lex(source)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
        nodes: 0,
        end: source.chars().count(),
    };
    let node = parser.expr()?;
    match parser.tokens.get(parser.at) {
        None => Ok(node),
        Some((column, token)) => Err(ExprError::new(
            *column,
            format!("unexpected {} after the expression", describe(token)),
        )),
    }
}

const PUNCTS: [&str; 19] = [
    "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", ",", ".", "+", "-", "*", "/", "%", "<",
    ">",
];

fn lex(source: &str) -> Result<Vec<(usize, Token)>, ExprError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                // `1.5` is a number; `x.f()` after a number is not supported.
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push((start, Token::Num(number_literal(&text, start)?)));
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((start, Token::Ident(chars[start..i].iter().collect())));
        } else if c == '\'' || c == '"' {
            let (text, next) = string_literal(&chars, i)?;
            tokens.push((start, Token::Str(text)));
            i = next;
        } else if c == '!' && chars.get(i + 1) != Some(&'=') {
            tokens.push((start, Token::Punct("!")));
            i += 1;
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let Some(p) = PUNCTS.iter().find(|p| rest.starts_with(**p)) else {
                return Err(ExprError::new(start, format!("unexpected character `{c}`")));
            };
            tokens.push((start, Token::Punct(p)));
            i += p.chars().count();
        }
    }
    Ok(tokens)
}

fn number_literal(text: &str, column: usize) -> Result<Value, ExprError> {
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Value::from(n));
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| ExprError::new(column, format!("`{text}` is not a number")))
}

fn string_literal(chars: &[char], open: usize) -> Result<(String, usize), ExprError> {
    let quote = chars[open];
    let mut text = String::new();
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            c if c == quote => return Ok((text, i + 1)),
            '\\' => {
                let escaped = match chars.get(i + 1) {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('\\') => '\\',
                    Some('\'') => '\'',
                    Some('"') => '"',
                    _ => {
                        return Err(ExprError::new(
                            i,
                            "unknown escape; use \\n, \\t, \\\\, \\' or \\\"",
                        ));
                    }
                };
                text.push(escaped);
                i += 2;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(ExprError::new(
        open,
        "text is not closed; add the closing quote",
    ))
}

fn describe(token: &Token) -> String {
    match token {
        Token::Num(n) => format!("number `{n}`"),
        Token::Str(_) => "text".to_owned(),
        Token::Ident(name) => format!("`{name}`"),
        Token::Punct(p) => format!("`{p}`"),
    }
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    depth: usize,
    nodes: usize,
    /// The column just past the end, for "expected ..." at the end.
    end: usize,
}

impl Parser {
    fn column(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(c, _)| *c)
    }

    fn peek_punct(&self, p: &str) -> bool {
        matches!(self.tokens.get(self.at), Some((_, Token::Punct(q))) if *q == p)
    }

    fn eat(&mut self, p: &str) -> bool {
        let found = self.peek_punct(p);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, p: &str) -> Result<(), ExprError> {
        if self.eat(p) {
            return Ok(());
        }
        let found = match self.tokens.get(self.at) {
            Some((_, token)) => describe(token),
            None => "the end".to_owned(),
        };
        Err(ExprError::new(
            self.column(),
            format!("expected `{p}`, found {found}"),
        ))
    }

    fn node(&mut self, node: Node) -> Result<Node, ExprError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(ExprError::new(
                self.column(),
                format!("the expression has more than {MAX_NODES} parts; simplify it"),
            ));
        }
        Ok(node)
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::new(
                self.column(),
                format!("the expression nests deeper than {MAX_DEPTH} levels; simplify it"),
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Node, ExprError> {
        self.enter()?;
        let node = self.binary(0);
        self.depth -= 1;
        node
    }

    /// Precedence climbing over the binary operators, loosest first.
    fn binary(&mut self, level: usize) -> Result<Node, ExprError> {
        const LEVELS: [&[(&str, BinOp)]; 5] = [
            &[("||", BinOp::Or)],
            &[("&&", BinOp::And)],
            &[
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
        ];
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        'more: loop {
            for (p, op) in ops.iter() {
                if self.eat(p) {
                    let right = self.binary(level + 1)?;
                    left = self.node(Node::Binary(*op, Box::new(left), Box::new(right)))?;
                    continue 'more;
                }
            }
            return Ok(left);
        }
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        self.enter()?;
        let node = if self.eat("!") {
            let inner = self.unary()?;
            self.node(Node::Not(Box::new(inner)))
        } else if self.eat("-") {
            let inner = self.unary()?;
            self.node(Node::Neg(Box::new(inner)))
        } else {
            self.postfix()
        };
        self.depth -= 1;
        node
    }

    fn postfix(&mut self) -> Result<Node, ExprError> {
        let mut node = self.primary()?;
        loop {
            if self.eat("[") {
                let index = self.expr()?;
                self.expect("]")?;
                node = self.node(Node::Index(Box::new(node), Box::new(index)))?;
            } else if self.eat(".") {
                // `value.split(' ')` is `split(value, ' ')`.
                let column = self.column();
                let Some((_, Token::Ident(name))) = self.tokens.get(self.at).cloned() else {
                    return Err(ExprError::new(column, "expected a function name after `.`"));
                };
                self.at += 1;
                self.expect("(")?;
                let mut args = vec![node];
                args.extend(self.arguments()?);
                node = self.call(&name, column, args)?;
            } else {
                return Ok(node);
            }
        }
    }

    /// Arguments after `(`, through `)`.
    fn arguments(&mut self) -> Result<Vec<Node>, ExprError> {
        let mut args = Vec::new();
        if self.eat(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(")") {
                return Ok(args);
            }
            if !self.eat(",") {
                let found = match self.tokens.get(self.at) {
                    Some((_, token)) => describe(token),
                    None => "the end".to_owned(),
                };
                return Err(ExprError::new(
                    self.column(),
                    format!("expected `,` or `)` after an argument, found {found}"),
                ));
            }
        }
    }

    fn call(&mut self, name: &str, column: usize, args: Vec<Node>) -> Result<Node, ExprError> {
        let Some(func) = Func::lookup(name) else {
            return Err(ExprError::new(
                column,
                format!(
                    "unknown function `{name}`; use one of {}",
                    Func::all().join(", ")
                ),
            ));
        };
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            let wanted = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(ExprError::new(
                column,
                format!("`{name}` takes {wanted} arguments, got {}", args.len()),
            ));
        }
        self.node(Node::Call(func, args))
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let column = self.column();
        let Some((_, token)) = self.tokens.get(self.at).cloned() else {
            return Err(ExprError::new(column, "the expression ends too soon"));
        };
        self.at += 1;
        match token {
            Token::Num(n) => self.node(Node::Lit(n)),
            Token::Str(s) => self.node(Node::Lit(Value::String(s))),
            Token::Punct("(") => {
                let inner = self.expr()?;
                self.expect(")")?;
                Ok(inner)
            }
            Token::Ident(name) if self.peek_punct("(") => {
                self.at += 1;
                let args = self.arguments()?;
                self.call(&name, column, args)
            }
            Token::Ident(name) => match name.as_str() {
                "value" => self.node(Node::Input),
                "true" => self.node(Node::Lit(Value::Bool(true))),
                "false" => self.node(Node::Lit(Value::Bool(false))),
                "null" => self.node(Node::Lit(Value::Null)),
                _ => Err(ExprError::new(
                    column,
                    format!("unknown name `{name}`; the field's value is `value`"),
                )),
            },
            other => Err(ExprError::new(
                column,
                format!("unexpected {}", describe(&other)),
            )),
        }
    }
}
