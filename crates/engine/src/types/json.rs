//! JSON documents (the RedisJSON `ReJSON-RL` type) and the path language
//! used to address parts of them.
//!
//! A document is a [`serde_json::Value`] built with `preserve_order`, so
//! object members keep insertion order as RedisJSON's do (clients compare
//! `JSON.GET` output textually). Parsing and number/string serialisation are
//! serde_json's; this module adds what RedisJSON layers on top:
//!
//! - [`Path`]: a compiled path. Two syntaxes exist. *Legacy* paths (`.`,
//!   `.a.b`, `a[0]`) address one value and commands reply with a single
//!   result; *JSONPath* (`$`, `$..a`, `$.a[*]`, `$.a[0:2]`,
//!   `$.a[?(@.x>1)]`) addresses any number of values and commands reply with
//!   an array of per-match results. Both compile to the same segments: a
//!   legacy path is rewritten to JSONPath (`.a` → `$.a`) exactly as
//!   RedisJSON does, which is also the spelling its error messages use.
//! - [`select`]: evaluation into *pointers* (key/index steps from the root)
//!   rather than references, so a write command can first find every match
//!   with a shared borrow and then change each one through
//!   [`get_mut`]/[`remove`], and a deletion can order its pointers so that
//!   removing one array element never shifts another match.
//! - [`write`]: serialisation with JSON.GET's INDENT/NEWLINE/SPACE options.

use serde_json::Value as J;
use std::cmp::Ordering;

pub use serde_json::{Map, Number};

/// A JSON document as stored under a key.
pub type JsonValue = serde_json::Value;

/// One step from a value to a child.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A path from the document root to one value.
pub type Ptr = Vec<Step>;

/// A compiled path.
#[derive(Debug, Clone)]
pub struct Path {
    /// Written in the legacy syntax: commands reply with one value.
    pub legacy: bool,
    /// The JSONPath spelling (legacy paths rewritten), for error messages.
    pub text: String,
    segs: Vec<Seg>,
}

#[derive(Debug, Clone)]
enum Seg {
    /// `.name`, `[...]`: selectors applied to the current values.
    Child(Vec<Sel>),
    /// `..name`, `..[...]`: selectors applied to the values and every
    /// value below them.
    Descendant(Vec<Sel>),
}

#[derive(Debug, Clone)]
enum Sel {
    Name(String),
    Wild,
    Index(i64),
    Slice(Option<i64>, Option<i64>, i64),
    Filter(Box<Expr>),
}

#[derive(Debug, Clone)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// A bare operand: true when the path selects something.
    Exists(Operand),
    Cmp(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
enum Operand {
    /// `@…`: relative to the element being filtered.
    Current(Vec<Seg>),
    /// `$…`: relative to the document root.
    Root(Vec<Seg>),
    Literal(J),
}

/// A path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub pos: usize,
    pub msg: &'static str,
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Error occurred on position {}, {}", self.pos, self.msg)
    }
}

impl Path {
    /// Compiles `src`. Anything not starting with `$` is a legacy path.
    pub fn parse(src: &str) -> Result<Path, PathError> {
        let (legacy, text) = if src.starts_with('$') {
            (false, src.to_string())
        } else if src == "." {
            (true, "$".to_string())
        } else if src.starts_with('.') {
            (true, format!("${src}"))
        } else {
            (true, format!("$.{src}"))
        };
        let mut p = Parser {
            s: text.as_bytes(),
            i: 1,
            filter: false,
            depth: 0,
        };
        let segs = p.segments()?;
        if p.i != p.s.len() {
            return Err(p.err("unexpected character"));
        }
        Ok(Path { legacy, text, segs })
    }

    /// The root path (`$` or `.`): the whole document.
    pub fn is_root(&self) -> bool {
        self.segs.is_empty()
    }

    /// For a path ending in a plain member name (`$.a.b`, `.a["b"]`), the
    /// path of the parent and that name: where JSON.SET may create a member.
    pub fn split_last_name(&self) -> Option<(Path, &str)> {
        match self.segs.last()? {
            Seg::Child(sels) if sels.len() == 1 => match &sels[0] {
                Sel::Name(n) => Some((
                    Path {
                        legacy: self.legacy,
                        text: self.text.clone(),
                        segs: self.segs[..self.segs.len() - 1].to_vec(),
                    },
                    n.as_str(),
                )),
                _ => None,
            },
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// Inside a filter: names also end at operators, spaces and `)`.
    filter: bool,
    /// Nesting of filters, parentheses and `!`: bounded so that a hostile
    /// path cannot exhaust the stack.
    depth: usize,
}

/// Deepest nesting a filter expression may have.
const MAX_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    fn err(&self, msg: &'static str) -> PathError {
        PathError { pos: self.i, msg }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.s.get(self.i + off).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn segments(&mut self) -> Result<Vec<Seg>, PathError> {
        let mut segs = Vec::new();
        loop {
            match self.peek() {
                Some(b'.') if self.peek_at(1) == Some(b'.') => {
                    self.i += 2;
                    let sels = match self.peek() {
                        Some(b'[') => self.bracket()?,
                        Some(b'*') => {
                            self.i += 1;
                            vec![Sel::Wild]
                        }
                        _ => vec![Sel::Name(self.name()?)],
                    };
                    segs.push(Seg::Descendant(sels));
                }
                Some(b'.') => {
                    self.i += 1;
                    let sels = match self.peek() {
                        Some(b'[') => self.bracket()?,
                        Some(b'*') => {
                            self.i += 1;
                            vec![Sel::Wild]
                        }
                        _ => vec![Sel::Name(self.name()?)],
                    };
                    segs.push(Seg::Child(sels));
                }
                Some(b'[') => segs.push(Seg::Child(self.bracket()?)),
                _ => return Ok(segs),
            }
        }
    }

    fn name(&mut self) -> Result<String, PathError> {
        let start = self.i;
        while let Some(c) = self.peek() {
            let stop = match c {
                b'.' | b'[' | b']' => true,
                b' ' | b')' | b'(' | b'<' | b'>' | b'=' | b'!' | b'&' | b'|' | b',' => self.filter,
                _ => false,
            };
            if stop {
                break;
            }
            self.i += 1;
        }
        if self.i == start {
            return Err(self.err("expected a member name"));
        }
        std::str::from_utf8(&self.s[start..self.i])
            .map(str::to_string)
            .map_err(|_| self.err("invalid UTF-8"))
    }

    /// `[sel, sel, …]`.
    fn bracket(&mut self) -> Result<Vec<Sel>, PathError> {
        self.i += 1; // '['
        let mut sels = Vec::new();
        loop {
            self.skip_ws();
            let sel = match self.peek() {
                Some(b'\'' | b'"') => Sel::Name(self.quoted()?),
                Some(b'*') => {
                    self.i += 1;
                    Sel::Wild
                }
                Some(b'?') => {
                    self.i += 1;
                    self.skip_ws();
                    if self.peek() != Some(b'(') {
                        return Err(self.err("expected '('"));
                    }
                    self.i += 1;
                    let saved = self.filter;
                    self.filter = true;
                    let e = self.or_expr()?;
                    self.filter = saved;
                    self.skip_ws();
                    if self.peek() != Some(b')') {
                        return Err(self.err("expected ')'"));
                    }
                    self.i += 1;
                    Sel::Filter(Box::new(e))
                }
                Some(b'-' | b'0'..=b'9' | b':') => self.index_or_slice()?,
                _ => return Err(self.err("unexpected character in brackets")),
            };
            sels.push(sel);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(sels);
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    fn int(&mut self) -> Result<Option<i64>, PathError> {
        self.skip_ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        if self.i == start {
            return Ok(None);
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .map(Some)
            .ok_or_else(|| self.err("invalid integer"))
    }

    fn index_or_slice(&mut self) -> Result<Sel, PathError> {
        let first = self.int()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return first
                .map(Sel::Index)
                .ok_or_else(|| self.err("expected an index"));
        }
        self.i += 1;
        let end = self.int()?;
        self.skip_ws();
        let mut step = 1;
        if self.peek() == Some(b':') {
            self.i += 1;
            step = self.int()?.unwrap_or(1);
        }
        Ok(Sel::Slice(first, end, step))
    }

    /// A quoted string with JSON-style backslash escapes.
    fn quoted(&mut self) -> Result<String, PathError> {
        let q = self.s[self.i];
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(c) if c == q => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    let c = self.peek_at(1).ok_or_else(|| self.err("bad escape"))?;
                    out.push(match c {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        other => other,
                    });
                    self.i += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.err("invalid UTF-8"))
    }

    fn or_expr(&mut self) -> Result<Expr, PathError> {
        let mut left = self.and_expr()?;
        loop {
            self.skip_ws();
            if self.s[self.i..].starts_with(b"||") {
                self.i += 2;
                let right = self.and_expr()?;
                left = Expr::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn and_expr(&mut self) -> Result<Expr, PathError> {
        let mut left = self.unary()?;
        loop {
            self.skip_ws();
            if self.s[self.i..].starts_with(b"&&") {
                self.i += 2;
                let right = self.unary()?;
                left = Expr::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, PathError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("expression nested too deeply"));
        }
        let e = self.unary_inner();
        self.depth -= 1;
        e
    }

    fn unary_inner(&mut self) -> Result<Expr, PathError> {
        self.skip_ws();
        match self.peek() {
            Some(b'!') if self.peek_at(1) != Some(b'=') => {
                self.i += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(b'(') => {
                self.i += 1;
                let e = self.or_expr()?;
                self.skip_ws();
                if self.peek() != Some(b')') {
                    return Err(self.err("expected ')'"));
                }
                self.i += 1;
                Ok(e)
            }
            _ => {
                let left = self.operand()?;
                self.skip_ws();
                let rest = &self.s[self.i..];
                let op = [
                    (&b"=="[..], CmpOp::Eq),
                    (b"!=", CmpOp::Ne),
                    (b"<=", CmpOp::Le),
                    (b">=", CmpOp::Ge),
                    (b"<", CmpOp::Lt),
                    (b">", CmpOp::Gt),
                ]
                .into_iter()
                .find(|(t, _)| rest.starts_with(t));
                match op {
                    Some((t, op)) => {
                        self.i += t.len();
                        let right = self.operand()?;
                        Ok(Expr::Cmp(left, op, right))
                    }
                    None if rest.starts_with(b"=~") => {
                        Err(self.err("regular expressions are not supported"))
                    }
                    None => Ok(Expr::Exists(left)),
                }
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, PathError> {
        self.skip_ws();
        match self.peek() {
            Some(b'@') => {
                self.i += 1;
                Ok(Operand::Current(self.segments()?))
            }
            Some(b'$') => {
                self.i += 1;
                Ok(Operand::Root(self.segments()?))
            }
            Some(b'\'' | b'"') => Ok(Operand::Literal(J::String(self.quoted()?))),
            _ => {
                // A number or true/false/null: take the token and let
                // serde_json read it.
                let start = self.i;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                {
                    self.i += 1;
                }
                serde_json::from_slice(&self.s[start..self.i])
                    .map(Operand::Literal)
                    .map_err(|_| PathError {
                        pos: start,
                        msg: "expected a value",
                    })
            }
        }
    }
}

/// Every value `path` selects in `root`, as pointers, in document order
/// (descendant segments visit a value before the values below it).
pub fn select(root: &J, path: &Path) -> Vec<Ptr> {
    eval_segs(root, &path.segs, Vec::new(), root)
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

/// Like [`select`], returning the values with their pointers.
pub fn select_values<'a>(root: &'a J, path: &Path) -> Vec<(Ptr, &'a J)> {
    eval_segs(root, &path.segs, Vec::new(), root)
}

fn eval_segs<'a>(root: &'a J, segs: &[Seg], start: Ptr, node: &'a J) -> Vec<(Ptr, &'a J)> {
    let mut cur = vec![(start, node)];
    for seg in segs {
        let mut next = Vec::new();
        for (ptr, node) in cur {
            match seg {
                Seg::Child(sels) => {
                    for sel in sels {
                        apply(root, sel, &ptr, node, &mut next);
                    }
                }
                Seg::Descendant(sels) => descend(root, sels, ptr, node, &mut next),
            }
        }
        cur = next;
    }
    cur
}

fn descend<'a>(root: &'a J, sels: &[Sel], ptr: Ptr, node: &'a J, out: &mut Vec<(Ptr, &'a J)>) {
    for sel in sels {
        apply(root, sel, &ptr, node, out);
    }
    match node {
        J::Object(m) => {
            for (k, v) in m {
                let mut p = ptr.clone();
                p.push(Step::Key(k.clone()));
                descend(root, sels, p, v, out);
            }
        }
        J::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let mut p = ptr.clone();
                p.push(Step::Index(i));
                descend(root, sels, p, v, out);
            }
        }
        _ => {}
    }
}

fn child(ptr: &Ptr, step: Step) -> Ptr {
    let mut p = Vec::with_capacity(ptr.len() + 1);
    p.extend_from_slice(ptr);
    p.push(step);
    p
}

/// Resolves a possibly negative index against `len`.
fn norm_index(i: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if i < 0 { len.saturating_add(i) } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

fn apply<'a>(root: &'a J, sel: &Sel, ptr: &Ptr, node: &'a J, out: &mut Vec<(Ptr, &'a J)>) {
    match (sel, node) {
        (Sel::Name(n), J::Object(m)) => {
            if let Some(v) = m.get(n) {
                out.push((child(ptr, Step::Key(n.clone())), v));
            }
        }
        (Sel::Wild, J::Object(m)) => {
            for (k, v) in m {
                out.push((child(ptr, Step::Key(k.clone())), v));
            }
        }
        (Sel::Wild, J::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                out.push((child(ptr, Step::Index(i)), v));
            }
        }
        (Sel::Index(i), J::Array(a)) => {
            if let Some(i) = norm_index(*i, a.len()) {
                out.push((child(ptr, Step::Index(i)), &a[i]));
            }
        }
        (Sel::Slice(s, e, step), J::Array(a)) => {
            if *step <= 0 {
                return;
            }
            let len = a.len() as i64;
            let clamp = |v: i64| {
                if v < 0 {
                    len.saturating_add(v).max(0)
                } else {
                    v.min(len)
                }
            };
            let start = s.map_or(0, clamp);
            let end = e.map_or(len, clamp);
            let mut i = start;
            while i < end {
                out.push((child(ptr, Step::Index(i as usize)), &a[i as usize]));
                i = i.saturating_add(*step);
            }
        }
        (Sel::Filter(expr), J::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                if eval_expr(root, expr, v) {
                    out.push((child(ptr, Step::Index(i)), v));
                }
            }
        }
        (Sel::Filter(expr), J::Object(m)) => {
            for (k, v) in m {
                if eval_expr(root, expr, v) {
                    out.push((child(ptr, Step::Key(k.clone())), v));
                }
            }
        }
        _ => {}
    }
}

fn operand_value<'a>(root: &'a J, op: &'a Operand, cur: &'a J) -> Option<&'a J> {
    match op {
        Operand::Literal(v) => Some(v),
        Operand::Current(segs) => eval_segs(root, segs, Vec::new(), cur)
            .into_iter()
            .next()
            .map(|(_, v)| v),
        Operand::Root(segs) => eval_segs(root, segs, Vec::new(), root)
            .into_iter()
            .next()
            .map(|(_, v)| v),
    }
}

fn eval_expr(root: &J, e: &Expr, cur: &J) -> bool {
    match e {
        Expr::Or(a, b) => eval_expr(root, a, cur) || eval_expr(root, b, cur),
        Expr::And(a, b) => eval_expr(root, a, cur) && eval_expr(root, b, cur),
        Expr::Not(a) => !eval_expr(root, a, cur),
        Expr::Exists(op) => operand_value(root, op, cur).is_some(),
        Expr::Cmp(l, op, r) => {
            let (Some(l), Some(r)) = (operand_value(root, l, cur), operand_value(root, r, cur))
            else {
                return false;
            };
            let ord = match (l, r) {
                (J::Number(a), J::Number(b)) => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                (J::String(a), J::String(b)) => Some(a.cmp(b)),
                (a, b) if a == b => Some(Ordering::Equal),
                _ => None,
            };
            match op {
                CmpOp::Eq => ord == Some(Ordering::Equal),
                CmpOp::Ne => ord != Some(Ordering::Equal),
                // Ordering applies to numbers and strings only.
                _ if !matches!(
                    (l, r),
                    (J::Number(_), J::Number(_)) | (J::String(_), J::String(_))
                ) =>
                {
                    false
                }
                CmpOp::Lt => ord == Some(Ordering::Less),
                CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                CmpOp::Gt => ord == Some(Ordering::Greater),
                CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
            }
        }
    }
}

/// The value at `ptr`.
pub fn get<'a>(root: &'a J, ptr: &[Step]) -> Option<&'a J> {
    let mut v = root;
    for s in ptr {
        v = match (s, v) {
            (Step::Key(k), J::Object(m)) => m.get(k)?,
            (Step::Index(i), J::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The value at `ptr`, mutably.
pub fn get_mut<'a>(root: &'a mut J, ptr: &[Step]) -> Option<&'a mut J> {
    let mut v = root;
    for s in ptr {
        v = match (s, v) {
            (Step::Key(k), J::Object(m)) => m.get_mut(k)?,
            (Step::Index(i), J::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Removes the values at `ptrs` (not the root), returning how many were
/// removed. A pointer below another one is skipped (its value goes with
/// its ancestor), and removal runs from the last pointer to the first, so
/// earlier array indexes stay valid while later elements are removed.
pub fn remove(root: &mut J, mut ptrs: Vec<Ptr>) -> usize {
    ptrs.sort();
    ptrs.dedup();
    let mut kept: Vec<Ptr> = Vec::with_capacity(ptrs.len());
    for p in ptrs {
        // Sorted order puts an ancestor right before its descendants.
        if kept.last().is_some_and(|k| p.starts_with(k)) || p.is_empty() {
            continue;
        }
        kept.push(p);
    }
    let mut n = 0;
    for p in kept.iter().rev() {
        let (last, parent) = match p.split_last() {
            Some(x) => x,
            None => continue,
        };
        let removed = match (last, get_mut(root, parent)) {
            (Step::Key(k), Some(J::Object(m))) => m.shift_remove(k).is_some(),
            (Step::Index(i), Some(J::Array(a))) if *i < a.len() => {
                a.remove(*i);
                true
            }
            _ => false,
        };
        n += removed as usize;
    }
    n
}

/// The type name JSON.TYPE reports.
pub fn type_name(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(n) if n.is_f64() => "number",
        J::Number(_) => "integer",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    }
}

/// Approximate heap bytes owned by a document (MEMORY USAGE).
pub fn heap_size(v: &J) -> usize {
    const NODE: usize = std::mem::size_of::<J>();
    match v {
        J::String(s) => s.capacity(),
        J::Array(a) => a.capacity() * NODE + a.iter().map(heap_size).sum::<usize>(),
        // An ordered map keeps a hash index (one word per slot plus
        // control bytes) beside the entries (key, value and hash).
        J::Object(m) => m
            .iter()
            .map(|(k, v)| k.capacity() + 2 * NODE + 16 + heap_size(v))
            .sum::<usize>(),
        _ => 0,
    }
}

/// JSON.GET's formatting options: `None` everywhere is the compact form.
#[derive(Debug, Default, Clone, Copy)]
pub struct Format<'a> {
    pub indent: &'a str,
    pub newline: &'a str,
    pub space: &'a str,
}

impl Format<'_> {
    fn is_compact(&self) -> bool {
        self.indent.is_empty() && self.newline.is_empty() && self.space.is_empty()
    }
}

/// Serialises `v` into `out`.
pub fn write(out: &mut Vec<u8>, v: &J, f: &Format<'_>) {
    if f.is_compact() {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, v);
        return;
    }
    write_pretty(out, v, f, 0);
}

fn newline_indent(out: &mut Vec<u8>, f: &Format<'_>, depth: usize) {
    out.extend_from_slice(f.newline.as_bytes());
    for _ in 0..depth {
        out.extend_from_slice(f.indent.as_bytes());
    }
}

fn write_pretty(out: &mut Vec<u8>, v: &J, f: &Format<'_>, depth: usize) {
    match v {
        J::Array(a) if !a.is_empty() => {
            out.push(b'[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline_indent(out, f, depth + 1);
                write_pretty(out, e, f, depth + 1);
            }
            newline_indent(out, f, depth);
            out.push(b']');
        }
        J::Object(m) if !m.is_empty() => {
            out.push(b'{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline_indent(out, f, depth + 1);
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                out.extend_from_slice(f.space.as_bytes());
                write_pretty(out, e, f, depth + 1);
            }
            newline_indent(out, f, depth);
            out.push(b'}');
        }
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
}

/// Serialises `items` as one JSON array (the reply shape of a JSONPath
/// read), without first copying the values into an array.
pub fn write_all(out: &mut Vec<u8>, items: &[&J], f: &Format<'_>) {
    out.push(b'[');
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if f.is_compact() {
            let _ = serde_json::to_writer(&mut *out, *v);
        } else {
            newline_indent(out, f, 1);
            write_pretty(out, v, f, 1);
        }
    }
    if !f.is_compact() && !items.is_empty() {
        newline_indent(out, f, 0);
    }
    out.push(b']');
}

/// Serialises `v` compactly into a new buffer.
pub fn to_vec(v: &J) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, v, &Format::default());
    out
}

/// Applies an RFC 7396 merge patch: object members merge recursively,
/// `null` members delete, anything else replaces the target.
pub fn merge(target: &mut J, patch: J) {
    match patch {
        J::Object(pm) => {
            if !target.is_object() {
                *target = J::Object(Map::new());
            }
            if let J::Object(tm) = target {
                for (k, v) in pm {
                    if v.is_null() {
                        tm.shift_remove(&k);
                    } else if let Some(t) = tm.get_mut(&k) {
                        merge(t, v);
                    } else {
                        let mut fresh = J::Null;
                        merge(&mut fresh, v);
                        tm.insert(k, fresh);
                    }
                }
            }
        }
        other => *target = other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(doc: &J, p: &str) -> Vec<J> {
        let path = Path::parse(p).unwrap();
        select(doc, &path)
            .iter()
            .map(|p| get(doc, p).unwrap().clone())
            .collect()
    }

    #[test]
    fn legacy_paths_rewrite_to_jsonpath() {
        let p = Path::parse(".").unwrap();
        assert!(p.legacy && p.is_root() && p.text == "$");
        let p = Path::parse("a.b").unwrap();
        assert!(p.legacy);
        assert_eq!(p.text, "$.a.b");
        let p = Path::parse(".[0]").unwrap();
        assert_eq!(p.text, "$.[0]");
        assert!(!Path::parse("$.a").unwrap().legacy);
        assert!(Path::parse("$.a[").is_err());
        assert!(Path::parse("$a").is_err());
        let deep = format!("$[?({}@.a{})]", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Path::parse(&deep).is_err());
        let deep = format!("$[?({}@.a)]", "!".repeat(10_000));
        assert!(Path::parse(&deep).is_err());
    }

    #[test]
    fn selectors() {
        let doc = json!({"a": [1, 2, 3, 4], "b": {"a": 5, "c": {"a": 6}}, "k y": 7});
        assert_eq!(sel(&doc, "$.a[0]"), vec![json!(1)]);
        assert_eq!(sel(&doc, "$.a[-1]"), vec![json!(4)]);
        assert_eq!(sel(&doc, "$.a[9]"), Vec::<J>::new());
        assert_eq!(sel(&doc, "$.a[0:2]"), vec![json!(1), json!(2)]);
        assert_eq!(sel(&doc, "$.a[-2:]"), vec![json!(3), json!(4)]);
        assert_eq!(sel(&doc, "$.a[::2]"), vec![json!(1), json!(3)]);
        assert_eq!(sel(&doc, "$.a[0,3]"), vec![json!(1), json!(4)]);
        assert_eq!(sel(&doc, "$.a[*]").len(), 4);
        assert_eq!(
            sel(&doc, "$..a"),
            vec![json!([1, 2, 3, 4]), json!(5), json!(6)]
        );
        assert_eq!(sel(&doc, "$[\"k y\"]"), vec![json!(7)]);
        assert_eq!(sel(&doc, "$['b']['a']"), vec![json!(5)]);
        assert_eq!(sel(&doc, ".b.c.a"), vec![json!(6)]);
        assert_eq!(sel(&doc, "$.*").len(), 3);
    }

    #[test]
    fn filters() {
        let doc = json!({"x": [{"p": 8.5, "n": "a"}, {"p": 12, "n": "b"}, {"n": "c"}, {"p": 3, "n": "d", "t": true}]});
        let names = |p: &str| -> Vec<J> { sel(&doc, p) };
        assert_eq!(names("$.x[?(@.p<10)].n"), vec![json!("a"), json!("d")]);
        assert_eq!(names("$.x[?(@.p>=12)].n"), vec![json!("b")]);
        assert_eq!(names("$.x[?(@.p)].n").len(), 3);
        assert_eq!(names("$.x[?(!@.p)].n"), vec![json!("c")]);
        assert_eq!(
            names("$.x[?(@.n=='b' || @.n==\"c\")].n"),
            vec![json!("b"), json!("c")]
        );
        assert_eq!(names("$.x[?(@.p<10 && @.t==true)].n"), vec![json!("d")]);
        assert_eq!(names("$.x[?(@.p==12.0)].n"), vec![json!("b")]);
        assert_eq!(names("$.x[?(@.n>'b')].n"), vec![json!("c"), json!("d")]);
        // A missing member compares false, even with `!=`.
        assert_eq!(names("$.x[?(@.p != 3)].n").len(), 2);
    }

    #[test]
    fn remove_skips_nested_and_keeps_indexes() {
        let mut doc = json!({"a": {"a": 1}, "l": [{"a": 1}, 2, {"a": 3}], "z": 0});
        let ptrs = select(&doc, &Path::parse("$..a").unwrap());
        assert_eq!(remove(&mut doc, ptrs), 3);
        assert_eq!(doc, json!({"l": [{}, 2, {}], "z": 0}));
        let mut doc = json!([0, 1, 2, 3]);
        let ptrs = select(&doc, &Path::parse("$[0,2]").unwrap());
        assert_eq!(remove(&mut doc, ptrs), 2);
        assert_eq!(doc, json!([1, 3]));
        // Member order survives removal.
        let mut doc = json!({"a": 1, "b": 2, "c": 3});
        let ptrs = select(&doc, &Path::parse("$.a").unwrap());
        remove(&mut doc, ptrs);
        assert_eq!(to_vec(&doc), br#"{"b":2,"c":3}"#);
    }

    #[test]
    fn formatting() {
        let doc = json!({"a": [1, 2.5], "b": {}, "c": "é"});
        assert_eq!(
            to_vec(&doc),
            "{\"a\":[1,2.5],\"b\":{},\"c\":\"é\"}".as_bytes()
        );
        let mut out = Vec::new();
        write(
            &mut out,
            &doc,
            &Format {
                indent: "\t",
                newline: "\n",
                space: " ",
            },
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n\t\"a\": [\n\t\t1,\n\t\t2.5\n\t],\n\t\"b\": {},\n\t\"c\": \"é\"\n}"
        );
    }

    #[test]
    fn merge_patch() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge(
            &mut doc,
            json!({"a": {"b": null, "e": {"f": null, "g": 1}}, "d": [1]}),
        );
        assert_eq!(doc, json!({"a": {"c": 2, "e": {"g": 1}}, "d": [1]}));
    }

    #[test]
    fn types() {
        assert_eq!(type_name(&json!(1)), "integer");
        assert_eq!(type_name(&json!(1.0)), "number");
        assert_eq!(type_name(&json!(null)), "null");
    }
}
