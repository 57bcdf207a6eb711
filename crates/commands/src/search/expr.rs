//! FT.AGGREGATE's expression language (APPLY and FILTER): numbers, quoted
//! strings, `@field` references, arithmetic (`+ - * / % ^`), comparisons,
//! `!`, `&&`, `||`, parentheses and a set of functions (string, math).
//!
//! Values follow RediSearch's loose typing: arithmetic converts strings to
//! numbers where they parse, comparisons compare numbers when both sides
//! are numeric and text otherwise, and a missing field is null.

use std::fmt;

/// A value in an aggregation row.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Num(f64),
    Str(String),
    List(Vec<Val>),
}

impl Val {
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Str(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
    }

    pub fn truthy(&self) -> bool {
        match self {
            Val::Null => false,
            Val::Num(n) => *n != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::List(l) => !l.is_empty(),
        }
    }

    /// The text form (numbers as RediSearch prints them).
    pub fn to_text(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Num(n) => super::query::format_number(*n),
            Val::Str(s) => s.clone(),
            Val::List(l) => l.iter().map(|v| v.to_text()).collect::<Vec<_>>().join(","),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub enum Expr {
    Lit(Val),
    Field(String),
    Unary(char, Box<Expr>),
    Binary(String, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

/// A token of the expression language.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Field(String),
    Ident(String),
    Op(String),
    LParen,
    RParen,
    Comma,
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == b')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == b',' {
            out.push(Tok::Comma);
            i += 1;
        } else if c == b'@' {
            let start = i + 1;
            i += 1;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.' || b[i] == b':')
            {
                i += 1;
            }
            out.push(Tok::Field(src[start..i].to_string()));
        } else if c == b'"' || c == b'\'' {
            let q = c;
            i += 1;
            let mut s = String::new();
            while i < b.len() && b[i] != q {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                let ch_len = utf8_len(b[i]);
                s.push_str(&src[i..(i + ch_len).min(b.len())]);
                i += ch_len;
            }
            if i >= b.len() {
                return Err("Unterminated string".into());
            }
            i += 1;
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit() || (c == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit())
        {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_digit()
                    || b[i] == b'.'
                    || b[i] == b'e'
                    || b[i] == b'E'
                    || ((b[i] == b'+' || b[i] == b'-')
                        && i > start
                        && (b[i - 1] == b'e' || b[i - 1] == b'E')))
            {
                i += 1;
            }
            let n = src[start..i]
                .parse::<f64>()
                .map_err(|_| format!("Syntax error at offset {start} near {}", &src[start..i]))?;
            out.push(Tok::Num(n));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(src[start..i].to_string()));
        } else {
            let two = if i + 1 < b.len() { &src[i..i + 2] } else { "" };
            if ["==", "!=", "<=", ">=", "&&", "||"].contains(&two) {
                out.push(Tok::Op(two.to_string()));
                i += 2;
            } else if b"+-*/%^<>!".contains(&c) {
                out.push(Tok::Op((c as char).to_string()));
                i += 1;
            } else {
                return Err(format!("Syntax error at offset {i} near {}", &src[i..]));
            }
        }
    }
    Ok(out)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

/// Binary operators by precedence level, lowest first.
const LEVELS: &[&[&str]] = &[
    &["||"],
    &["&&"],
    &["==", "!="],
    &["<", "<=", ">", ">="],
    &["+", "-"],
    &["*", "/", "%"],
    &["^"],
];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, String> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        while let Some(Tok::Op(op)) = self.peek() {
            if !LEVELS[level].contains(&op.as_str()) {
                break;
            }
            let op = op.clone();
            self.pos += 1;
            let rhs = self.binary(level + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(Tok::Op(op)) if op == "-" || op == "!" || op == "+" => {
                let c = op.chars().next().unwrap_or('+');
                self.pos += 1;
                let e = self.unary()?;
                Ok(Expr::Unary(c, Box::new(e)))
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let tok = self.peek().cloned();
        self.pos += 1;
        match tok {
            Some(Tok::Num(n)) => Ok(Expr::Lit(Val::Num(n))),
            Some(Tok::Str(s)) => Ok(Expr::Lit(Val::Str(s))),
            Some(Tok::Field(f)) => Ok(Expr::Field(f)),
            Some(Tok::LParen) => {
                let e = self.binary(0)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err("Syntax error: missing )".into());
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Ident(name)) => {
                if self.peek() != Some(&Tok::LParen) {
                    return match name.to_ascii_lowercase().as_str() {
                        "inf" => Ok(Expr::Lit(Val::Num(f64::INFINITY))),
                        "null" | "nan" => Ok(Expr::Lit(Val::Null)),
                        _ => Err(format!("Syntax error near {name}")),
                    };
                }
                self.pos += 1;
                let mut args = Vec::new();
                if self.peek() == Some(&Tok::RParen) {
                    self.pos += 1;
                } else {
                    loop {
                        args.push(self.binary(0)?);
                        match self.peek() {
                            Some(Tok::Comma) => self.pos += 1,
                            Some(Tok::RParen) => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err("Syntax error: missing )".into()),
                        }
                    }
                }
                let lname = name.to_ascii_lowercase();
                if !FUNCTIONS.contains(&lname.as_str()) {
                    return Err(format!("Unknown function name '{name}'"));
                }
                Ok(Expr::Call(lname, args))
            }
            _ => Err("Syntax error".into()),
        }
    }
}

const FUNCTIONS: &[&str] = &[
    "upper",
    "lower",
    "substr",
    "strlen",
    "format",
    "split",
    "contains",
    "startswith",
    "concat",
    "abs",
    "floor",
    "ceil",
    "log",
    "log2",
    "exp",
    "sqrt",
    "exists",
    "to_number",
    "to_str",
    "matched_terms",
    "timefmt",
    "parsetime",
    "day",
    "hour",
    "minute",
    "month",
    "dayofweek",
    "dayofmonth",
    "dayofyear",
    "year",
    "monthofyear",
    "geodistance",
    "case",
    "strtolower",
    "strtoupper",
];

/// Parses an expression.
pub fn parse(src: &str) -> Result<Expr, String> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.binary(0)?;
    if p.pos != p.toks.len() {
        return Err(format!("Syntax error in expression `{src}`"));
    }
    Ok(e)
}

/// The fields an expression reads.
pub fn fields(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Field(f) => out.push(f.clone()),
        Expr::Unary(_, a) => fields(a, out),
        Expr::Binary(_, a, b) => {
            fields(a, out);
            fields(b, out);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| fields(a, out)),
        Expr::Lit(_) => {}
    }
}

fn cmp(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(a.to_text().cmp(&b.to_text())),
    }
}

fn num(v: Val) -> Val {
    match v.as_num() {
        Some(n) => Val::Num(n),
        None => Val::Null,
    }
}

/// Evaluates `e`, reading fields through `get`.
pub fn eval(e: &Expr, get: &dyn Fn(&str) -> Val) -> Result<Val, String> {
    Ok(match e {
        Expr::Lit(v) => v.clone(),
        Expr::Field(f) => get(f),
        Expr::Unary(op, a) => {
            let v = eval(a, get)?;
            match op {
                '!' => Val::Num((!v.truthy()) as i64 as f64),
                '-' => match v.as_num() {
                    Some(n) => Val::Num(-n),
                    None => Val::Null,
                },
                _ => num(v),
            }
        }
        Expr::Binary(op, a, b) => {
            if op == "&&" {
                let l = eval(a, get)?;
                if !l.truthy() {
                    return Ok(Val::Num(0.0));
                }
                return Ok(Val::Num(eval(b, get)?.truthy() as i64 as f64));
            }
            if op == "||" {
                let l = eval(a, get)?;
                if l.truthy() {
                    return Ok(Val::Num(1.0));
                }
                return Ok(Val::Num(eval(b, get)?.truthy() as i64 as f64));
            }
            let l = eval(a, get)?;
            let r = eval(b, get)?;
            let bool_val = |x: bool| Val::Num(x as i64 as f64);
            match op.as_str() {
                "==" => bool_val(cmp(&l, &r) == Some(std::cmp::Ordering::Equal)),
                "!=" => bool_val(cmp(&l, &r) != Some(std::cmp::Ordering::Equal)),
                "<" => bool_val(cmp(&l, &r) == Some(std::cmp::Ordering::Less)),
                "<=" => bool_val(matches!(
                    cmp(&l, &r),
                    Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                )),
                ">" => bool_val(cmp(&l, &r) == Some(std::cmp::Ordering::Greater)),
                ">=" => bool_val(matches!(
                    cmp(&l, &r),
                    Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                )),
                _ => {
                    let (Some(x), Some(y)) = (l.as_num(), r.as_num()) else {
                        return Ok(Val::Null);
                    };
                    Val::Num(match op.as_str() {
                        "+" => x + y,
                        "-" => x - y,
                        "*" => x * y,
                        "/" => x / y,
                        "%" => {
                            let (xi, yi) = (x as i64, y as i64);
                            if yi == 0 {
                                f64::NAN
                            } else {
                                (xi % yi) as f64
                            }
                        }
                        "^" => x.powf(y),
                        _ => return Err(format!("Unknown operator {op}")),
                    })
                }
            }
        }
        Expr::Call(name, args) => call(name, args, get)?,
    })
}

fn call(name: &str, args: &[Expr], get: &dyn Fn(&str) -> Val) -> Result<Val, String> {
    let vals: Vec<Val> = args
        .iter()
        .map(|a| eval(a, get))
        .collect::<Result<_, _>>()?;
    let arity = |n: usize| -> Result<(), String> {
        if vals.len() < n {
            Err(format!("Invalid arguments for function '{name}'"))
        } else {
            Ok(())
        }
    };
    let math = |f: fn(f64) -> f64| -> Result<Val, String> {
        arity(1)?;
        Ok(match vals[0].as_num() {
            Some(n) => Val::Num(f(n)),
            None => Val::Null,
        })
    };
    Ok(match name {
        "upper" | "strtoupper" => {
            arity(1)?;
            Val::Str(vals[0].to_text().to_uppercase())
        }
        "lower" | "strtolower" => {
            arity(1)?;
            Val::Str(vals[0].to_text().to_lowercase())
        }
        "strlen" => {
            arity(1)?;
            Val::Num(vals[0].to_text().len() as f64)
        }
        "substr" => {
            arity(3)?;
            let s = vals[0].to_text();
            let len = s.len() as i64;
            let mut off = vals[1].as_num().unwrap_or(0.0) as i64;
            if off < 0 {
                off = (len + off).max(0);
            }
            let off = off.min(len) as usize;
            let mut n = vals[2].as_num().unwrap_or(0.0) as i64;
            if n < 0 {
                n = (len - off as i64 + n).max(0);
            }
            let end = (off + n as usize).min(s.len());
            Val::Str(String::from_utf8_lossy(&s.as_bytes()[off..end]).into_owned())
        }
        "concat" => Val::Str(vals.iter().map(|v| v.to_text()).collect()),
        "format" => {
            arity(1)?;
            let fmt = vals[0].to_text();
            let mut out = String::new();
            let mut rest = vals[1..].iter();
            let mut chars = fmt.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '%' {
                    match chars.next() {
                        Some('s') => {
                            out.push_str(&rest.next().map(|v| v.to_text()).unwrap_or_default())
                        }
                        Some('%') => out.push('%'),
                        Some(o) => {
                            out.push('%');
                            out.push(o);
                        }
                        None => out.push('%'),
                    }
                } else {
                    out.push(c);
                }
            }
            Val::Str(out)
        }
        "split" => {
            arity(1)?;
            let s = vals[0].to_text();
            let sep = vals
                .get(1)
                .map(|v| v.to_text())
                .unwrap_or_else(|| ",".into());
            let strip = vals
                .get(2)
                .map(|v| v.to_text())
                .unwrap_or_else(|| " ".into());
            Val::List(
                s.split(|c| sep.contains(c))
                    .map(|p| p.trim_matches(|c| strip.contains(c)))
                    .filter(|p| !p.is_empty())
                    .map(|p| Val::Str(p.to_string()))
                    .collect(),
            )
        }
        "contains" => {
            arity(2)?;
            let (s, t) = (vals[0].to_text(), vals[1].to_text());
            Val::Num(if t.is_empty() {
                s.len() as f64 + 1.0
            } else {
                s.matches(t.as_str()).count() as f64
            })
        }
        "startswith" => {
            arity(2)?;
            Val::Num(vals[0].to_text().starts_with(&vals[1].to_text()) as i64 as f64)
        }
        "abs" => math(f64::abs)?,
        "floor" => math(f64::floor)?,
        "ceil" => math(f64::ceil)?,
        "log" => math(f64::ln)?,
        "log2" => math(f64::log2)?,
        "exp" => math(f64::exp)?,
        "sqrt" => math(f64::sqrt)?,
        "exists" => {
            arity(1)?;
            Val::Num((vals[0] != Val::Null) as i64 as f64)
        }
        "to_number" => {
            arity(1)?;
            num(vals[0].clone())
        }
        "to_str" => {
            arity(1)?;
            Val::Str(vals[0].to_text())
        }
        "case" => {
            arity(3)?;
            if vals[0].truthy() {
                vals[1].clone()
            } else {
                vals[2].clone()
            }
        }
        "matched_terms" => Val::Null,
        "geodistance" => {
            arity(2)?;
            let point = |v: &Val| -> Option<(f64, f64)> {
                let t = v.to_text();
                let (a, b) = t.split_once(',')?;
                Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
            };
            match (point(&vals[0]), point(&vals[1])) {
                (Some((lon1, lat1)), Some((lon2, lat2))) => {
                    let r = 6_372_797.560856_f64;
                    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
                    let dlat = p2 - p1;
                    let dlon = (lon2 - lon1).to_radians();
                    let a = (dlat / 2.0).sin().powi(2)
                        + p1.cos() * p2.cos() * (dlon / 2.0).sin().powi(2);
                    Val::Num(2.0 * r * a.sqrt().asin())
                }
                _ => Val::Null,
            }
        }
        // Time functions: the value is a unix timestamp in seconds.
        _ => {
            arity(1)?;
            let Some(t) = vals[0].as_num() else {
                return Ok(Val::Null);
            };
            time_part(name, t as i64)
        }
    })
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn time_part(name: &str, t: i64) -> Val {
    let days = t.div_euclid(86_400);
    let (y, m, d) = civil(days);
    let start_of_year = {
        // Days from 1970-01-01 to January 1st of year y.
        let mut lo = days - 366;
        while civil(lo).0 < y {
            lo += 1;
        }
        lo
    };
    let v = match name {
        "minute" => t - t.rem_euclid(60),
        "hour" => t - t.rem_euclid(3600),
        "day" => days * 86_400,
        "month" => (days - (d - 1)) * 86_400,
        "dayofweek" => (days + 4).rem_euclid(7),
        "dayofmonth" => d,
        "dayofyear" => days - start_of_year,
        "year" => y,
        "monthofyear" => m - 1,
        "timefmt" => {
            let secs = t.rem_euclid(86_400);
            return Val::Str(format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                secs / 3600,
                (secs / 60) % 60,
                secs % 60
            ));
        }
        _ => return Val::Null,
    };
    Val::Num(v as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(src: &str) -> Val {
        let e = parse(src).unwrap();
        eval(&e, &|f| match f {
            "x" => Val::Num(4.0),
            "s" => Val::Str("Hello".into()),
            _ => Val::Null,
        })
        .unwrap()
    }

    #[test]
    fn arithmetic_and_precedence() {
        assert_eq!(ev("1 + 2 * 3"), Val::Num(7.0));
        assert_eq!(ev("(1 + 2) * 3"), Val::Num(9.0));
        assert_eq!(ev("@x ^ 2 - 1"), Val::Num(15.0));
        assert_eq!(ev("-@x + 10 % 3"), Val::Num(-3.0));
    }

    #[test]
    fn comparisons_and_logic() {
        assert_eq!(ev("@x > 3 && @x < 5"), Val::Num(1.0));
        assert_eq!(ev("@x == 5 || @s == 'Hello'"), Val::Num(1.0));
        assert_eq!(ev("!(@x == 4)"), Val::Num(0.0));
    }

    #[test]
    fn string_functions() {
        assert_eq!(ev("upper(@s)"), Val::Str("HELLO".into()));
        assert_eq!(ev("substr(@s, 1, 3)"), Val::Str("ell".into()));
        assert_eq!(ev("format('%s-%s', @s, @x)"), Val::Str("Hello-4".into()));
        assert_eq!(ev("strlen(@s)"), Val::Num(5.0));
        assert_eq!(ev("exists(@nope)"), Val::Num(0.0));
    }

    #[test]
    fn time_functions() {
        // 2021-03-04T05:06:07Z
        let t = 1_614_834_367.0;
        let e = parse("year(@t)").unwrap();
        assert_eq!(eval(&e, &|_| Val::Num(t)).unwrap(), Val::Num(2021.0));
        let e = parse("timefmt(@t)").unwrap();
        assert_eq!(
            eval(&e, &|_| Val::Num(t)).unwrap(),
            Val::Str("2021-03-04T05:06:07Z".into())
        );
        let e = parse("monthofyear(@t)").unwrap();
        assert_eq!(eval(&e, &|_| Val::Num(t)).unwrap(), Val::Num(2.0));
    }

    #[test]
    fn errors() {
        assert!(parse("1 +").is_err());
        assert!(parse("nosuchfn(1)").is_err());
        assert!(parse("'open").is_err());
    }
}
