//! A hand-written recursive-descent parser for dialect-2 queries.
//!
//! Precedence (dialect 2): juxtaposition (AND) binds tighter than `|` (OR);
//! `-` (NOT) and `~` (optional) bind to the next atom; `@f:` applies to the
//! next atom only (`@f:a b` is `@f:a` AND `b`, over all fields); `=>{…}`
//! attributes attach to the atom before them; `=>[KNN …]` closes the whole
//! query. Errors carry the byte offset of the offending token, worded as
//! RediSearch does (`Syntax error at offset N near X`).

use super::ast::{FieldMask, Knn, Node, Query, TagMatch, TermKind};
use crate::schema::{FieldKind, IndexDef};
use crate::text::{fold_case, StopWords};
use crate::vector::Algorithm;
use crate::QueryError;

/// What the parser needs to know about the index and the request.
pub struct ParseEnv<'a> {
    pub def: &'a IndexDef,
    /// Per schema field, its ordinal among TEXT fields (bit in a
    /// [`FieldMask`]).
    pub text_ord: &'a [Option<u16>],
    pub stopwords: &'a StopWords,
    pub no_stopwords: bool,
    pub params: &'a [(&'a [u8], &'a [u8])],
}

/// Parses `q` into a [`Query`].
pub fn parse(q: &str, env: &ParseEnv<'_>) -> Result<Query, QueryError> {
    let mut p = Parser {
        s: q.as_bytes(),
        pos: 0,
        depth: 0,
        env,
    };
    p.ws();
    if p.eof() {
        return Err(QueryError::new("Syntax error at offset 0 near "));
    }
    let root = p.or_expr(u64::MAX)?;
    p.ws();
    let knn = if p.rest().starts_with(b"=>[") {
        p.pos += 3;
        Some(p.knn()?)
    } else {
        None
    };
    p.ws();
    if !p.eof() {
        return Err(p.syntax_err());
    }
    Ok(Query { root, knn })
}

struct Parser<'a, 'e> {
    s: &'a [u8],
    pos: usize,
    /// Nesting of `unary` calls: bounded so a query of 100k `(` or `-`
    /// cannot overflow the stack (parsing, evaluation and drop all recurse).
    depth: usize,
    env: &'e ParseEnv<'e>,
}

/// Deepest nesting of parentheses/operators a query may use.
const MAX_DEPTH: usize = 64;

/// Bytes that end a bare term in a query (besides whitespace).
fn ends_term(c: u8) -> bool {
    c.is_ascii_whitespace() || crate::text::SEPARATORS.contains(&c) || matches!(c, b'|' | b'/')
}

impl<'a, 'e> Parser<'a, 'e> {
    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn rest(&self) -> &'a [u8] {
        &self.s[self.pos.min(self.s.len())..]
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// The token at `at`, for error messages: a term's characters when it
    /// starts a term (RediSearch reports `near af` for `af-forge`), else the
    /// single punctuation character.
    fn token_at(&self, at: usize) -> String {
        let start = at.min(self.s.len());
        let mut end = start;
        while end < self.s.len() {
            let c = self.s[end];
            if c == b'\\' && end + 1 < self.s.len() {
                end += 2;
                continue;
            }
            if ends_term(c) || matches!(c, b'*' | b'$' | b'@' | b'%') {
                if end == start && !c.is_ascii_whitespace() {
                    end += 1;
                }
                break;
            }
            end += 1;
        }
        String::from_utf8_lossy(&self.s[start..end]).into_owned()
    }

    fn syntax_err_at(&self, at: usize) -> QueryError {
        QueryError(format!(
            "Syntax error at offset {at} near {}",
            self.token_at(at)
        ))
    }

    fn syntax_err(&self) -> QueryError {
        self.syntax_err_at(self.pos)
    }

    fn expect(&mut self, c: u8) -> Result<(), QueryError> {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax_err())
        }
    }

    /// `$name` → the parameter's value.
    fn param(&self, name: &str) -> Result<&'e [u8], QueryError> {
        self.env
            .params
            .iter()
            .find(|(k, _)| *k == name.as_bytes())
            .map(|(_, v)| *v)
            .ok_or_else(|| QueryError(format!("No such parameter `{name}`")))
    }

    /// A bare word (letters, digits, `_`, escapes) — used for parameter and
    /// field names and keywords.
    fn ident(&mut self) -> String {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'\\' && self.pos + 1 < self.s.len() {
                out.push(self.s[self.pos + 1]);
                self.pos += 2;
            } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
                out.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A whitespace-delimited word inside `[…]` (stops at `]`).
    fn bracket_word(&mut self) -> (usize, String) {
        self.ws();
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || c == b']' {
                break;
            }
            self.pos += 1;
        }
        (
            start,
            String::from_utf8_lossy(&self.s[start..self.pos]).into_owned(),
        )
    }

    /// A bracket word with `$param` substituted.
    fn bracket_value(&mut self) -> Result<(usize, String), QueryError> {
        let (at, w) = self.bracket_word();
        if w.is_empty() {
            return Err(self.syntax_err_at(at));
        }
        if let Some(name) = w.strip_prefix('$') {
            let v = self.param(name)?;
            return Ok((at, String::from_utf8_lossy(v).into_owned()));
        }
        Ok((at, w))
    }

    fn number(&self, at: usize, w: &str) -> Result<f64, QueryError> {
        parse_bound(w).ok_or_else(|| self.syntax_err_at(at))
    }

    // ---- expressions ----------------------------------------------------

    fn at_expr_end(&self) -> bool {
        match self.peek() {
            None | Some(b')') | Some(b'|') => true,
            _ => self.rest().starts_with(b"=>["),
        }
    }

    fn or_expr(&mut self, fields: FieldMask) -> Result<Node, QueryError> {
        let mut alts = vec![self.and_expr(fields)?];
        loop {
            self.ws();
            if self.peek() == Some(b'|') {
                self.pos += 1;
                alts.push(self.and_expr(fields)?);
            } else {
                break;
            }
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Node::Null)
        } else {
            Node::Or(alts)
        })
    }

    fn and_expr(&mut self, fields: FieldMask) -> Result<Node, QueryError> {
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.at_expr_end() {
                break;
            }
            if let Some(n) = self.unary(fields)? {
                items.push(n);
            }
        }
        if items.is_empty() {
            // `()`, `a | | b`, a leading `|`: nothing to intersect.
            return Err(self.syntax_err());
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Node::Null)
        } else {
            Node::And(items)
        })
    }

    /// `-x`, `~x`, or an atom with optional `=>{attributes}`. `None` for
    /// punctuation that carries no meaning in a query (RediSearch skips it).
    fn unary(&mut self, fields: FieldMask) -> Result<Option<Node>, QueryError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.syntax_err());
        }
        self.depth += 1;
        let r = self.unary_inner(fields);
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self, fields: FieldMask) -> Result<Option<Node>, QueryError> {
        match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                self.ws();
                let inner = self.unary(fields)?.ok_or_else(|| self.syntax_err())?;
                Ok(Some(Node::Not(Box::new(inner))))
            }
            Some(b'~') => {
                self.pos += 1;
                let inner = self.unary(fields)?.ok_or_else(|| self.syntax_err())?;
                Ok(Some(Node::Optional(Box::new(inner))))
            }
            _ => {
                let Some(mut node) = self.atom(fields)? else {
                    return Ok(None);
                };
                self.ws();
                if self.rest().starts_with(b"=>{") {
                    self.pos += 3;
                    self.attributes(&mut node)?;
                }
                Ok(Some(node))
            }
        }
    }

    fn atom(&mut self, fields: FieldMask) -> Result<Option<Node>, QueryError> {
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.syntax_err());
        };
        match c {
            b'(' => {
                self.pos += 1;
                let inner = self.or_expr(fields)?;
                self.expect(b')')?;
                Ok(Some(inner))
            }
            b'@' => {
                self.pos += 1;
                self.field_expr().map(Some)
            }
            b'"' => self.phrase(fields).map(Some),
            b'*' => {
                let next = self.s.get(self.pos + 1).copied();
                if next.is_none_or(|n| ends_term(n) || n == b'=') {
                    self.pos += 1;
                    Ok(Some(Node::All))
                } else {
                    self.pos += 1;
                    let w = self.term_chars();
                    if self.peek() == Some(b'*') {
                        self.pos += 1;
                    }
                    Ok(Some(Node::Term {
                        text: format!("*{}*", fold_case(&w)),
                        kind: TermKind::Pattern,
                        fields,
                        weight: 1.0,
                    }))
                }
            }
            b'%' => self.fuzzy(fields).map(Some),
            b'$' => {
                self.pos += 1;
                let name = self.ident();
                let v = self.param(&name)?;
                Ok(Some(self.make_term(
                    &String::from_utf8_lossy(v),
                    TermKind::Exact,
                    fields,
                )))
            }
            b'{' | b'}' | b'[' | b']' | b')' | b'=' | b':' => Err(self.syntax_err_at(start)),
            _ if c != b'\\' && ends_term(c) => {
                // Stray punctuation (`,`, `.`, `!`…) separates terms only.
                self.pos += 1;
                Ok(None)
            }
            _ => {
                if self.rest().len() >= 10 && self.rest()[..10].eq_ignore_ascii_case(b"ismissing(")
                {
                    self.pos += 10;
                    self.ws();
                    if self.peek() != Some(b'@') {
                        return Err(self.syntax_err());
                    }
                    let at = self.pos;
                    self.pos += 1;
                    let name = self.ident();
                    let idx = self.field_index(&name, at)?;
                    self.expect(b')')?;
                    let f = &self.env.def.fields[idx];
                    if !f.index_missing {
                        return Err(QueryError(format!(
                            "'ismissing' requires field '{}' to be defined with 'INDEXMISSING'",
                            f.name
                        )));
                    }
                    return Ok(Some(Node::Missing { field: idx }));
                }
                let w = self.term_chars();
                if w.is_empty() {
                    return Err(self.syntax_err_at(start));
                }
                let kind = if self.peek() == Some(b'*') {
                    self.pos += 1;
                    TermKind::Prefix
                } else {
                    TermKind::Exact
                };
                Ok(Some(self.make_term(&w, kind, fields)))
            }
        }
    }

    /// Term characters with backslash escapes.
    fn term_chars(&mut self) -> String {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'\\' && self.pos + 1 < self.s.len() {
                out.push(self.s[self.pos + 1]);
                self.pos += 2;
            } else if ends_term(c) {
                break;
            } else {
                out.push(c);
                self.pos += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A text term node; a stop word becomes [`Node::Null`] (ignored).
    fn make_term(&self, raw: &str, kind: TermKind, fields: FieldMask) -> Node {
        let text = fold_case(raw);
        if kind == TermKind::Exact && !self.env.no_stopwords && self.env.stopwords.contains(&text) {
            return Node::Null;
        }
        Node::Term {
            text,
            kind,
            fields,
            weight: 1.0,
        }
    }

    fn fuzzy(&mut self, fields: FieldMask) -> Result<Node, QueryError> {
        let start = self.pos;
        let mut d = 0;
        while self.peek() == Some(b'%') {
            d += 1;
            self.pos += 1;
        }
        let w = self.term_chars();
        let mut close = 0;
        while self.peek() == Some(b'%') && close < d {
            close += 1;
            self.pos += 1;
        }
        if w.is_empty() || close != d || d > 3 {
            return Err(self.syntax_err_at(start));
        }
        Ok(Node::Term {
            text: fold_case(&w),
            kind: TermKind::Fuzzy(d),
            fields,
            weight: 1.0,
        })
    }

    /// `"a b c"`: the tokens inside, minus stop words.
    fn phrase(&mut self, fields: FieldMask) -> Result<Node, QueryError> {
        let start = self.pos;
        self.pos += 1;
        let from = self.pos;
        while let Some(c) = self.peek() {
            if c == b'\\' {
                self.pos += 2;
                continue;
            }
            if c == b'"' {
                break;
            }
            self.pos += 1;
        }
        if self.peek() != Some(b'"') {
            return Err(self.syntax_err_at(start));
        }
        let inner = &self.s[from..self.pos.min(self.s.len())];
        self.pos += 1;
        let mut terms = Vec::new();
        crate::text::tokenize(inner, |t| {
            if self.env.no_stopwords || !self.env.stopwords.contains(&t) {
                terms.push(t)
            }
        });
        Ok(match terms.len() {
            0 => Node::Null,
            1 => Node::Term {
                text: terms.pop().unwrap_or_default(),
                kind: TermKind::Exact,
                fields,
                weight: 1.0,
            },
            _ => Node::Phrase {
                terms,
                fields,
                weight: 1.0,
            },
        })
    }

    fn field_index(&self, name: &str, at: usize) -> Result<usize, QueryError> {
        self.env
            .def
            .fields
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| QueryError(format!("Unknown field at offset {at} near {name}")))
    }

    /// After `@`: `name[|name…]:value`.
    fn field_expr(&mut self) -> Result<Node, QueryError> {
        let mut idxs = Vec::new();
        loop {
            let at = self.pos;
            let name = self.ident();
            if name.is_empty() {
                return Err(self.syntax_err_at(at));
            }
            // RediSearch reports the offset of the `@` of `@name`.
            let at = if idxs.is_empty() { at - 1 } else { at };
            idxs.push(self.field_index(&name, at)?);
            if self.peek() == Some(b'|') {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.peek() != Some(b':') {
            return Err(self.syntax_err());
        }
        self.pos += 1;
        self.ws();
        if idxs.len() == 1 {
            let idx = idxs[0];
            match &self.env.def.fields[idx].kind {
                FieldKind::Tag(opts) => return self.tag_value(idx, opts.case_sensitive),
                FieldKind::Numeric => return self.numeric_value(idx),
                FieldKind::Geo => return self.geo_value(idx),
                FieldKind::Vector(_) => return self.vector_range(idx),
                FieldKind::Text(_) => {}
            }
        }
        let mut mask: FieldMask = 0;
        for &i in &idxs {
            match self.env.text_ord[i] {
                Some(o) if o < 64 => mask |= 1 << o,
                Some(_) => {}
                // A non-TEXT field in a multi-field list can match no term.
                None => {}
            }
        }
        if mask == 0 {
            // Text syntax on fields that index no text (NOINDEX, or only
            // non-TEXT fields listed): consume it and match nothing. An
            // empty union, not `Null`, so it still constrains an AND.
            let _ = self.unary(0)?;
            return Ok(Node::Or(Vec::new()));
        }
        self.unary(mask)?.ok_or_else(|| self.syntax_err())
    }

    /// `{a | b* | *c | $p}` after a TAG field.
    fn tag_value(&mut self, field: usize, case_sensitive: bool) -> Result<Node, QueryError> {
        if self.peek() != Some(b'{') {
            return Err(self.syntax_err());
        }
        let open = self.pos;
        self.pos += 1;
        let mut values = Vec::new();
        loop {
            self.ws();
            let mut raw: Vec<u8> = Vec::new();
            let mut escaped_end = false;
            let mut leading_star = false;
            let mut quoted_empty = false;
            let vstart = self.pos;
            if self.rest().starts_with(b"\"\"") {
                self.pos += 2;
                quoted_empty = true;
            }
            if self.peek() == Some(b'$') {
                self.pos += 1;
                let name = self.ident();
                raw.extend_from_slice(self.param(&name)?);
                escaped_end = true;
            }
            while let Some(c) = self.peek() {
                match c {
                    b'\\' if self.pos + 1 < self.s.len() => {
                        raw.push(self.s[self.pos + 1]);
                        self.pos += 2;
                        escaped_end = true;
                        continue;
                    }
                    b'|' | b'}' => break,
                    b'*' if raw.is_empty() && self.pos == vstart => leading_star = true,
                    _ => raw.push(c),
                }
                escaped_end = false;
                self.pos += 1;
            }
            let Some(end) = self.peek() else {
                return Err(self.syntax_err_at(open));
            };
            // Unescaped trailing `*` (after trimming) makes a prefix.
            let mut text = String::from_utf8_lossy(&raw).trim().to_string();
            let mut prefix = false;
            if !escaped_end && text.ends_with('*') && text.len() > 1 {
                text.pop();
                prefix = true;
            }
            let text = if case_sensitive {
                text
            } else {
                fold_case(&text)
            };
            if text.is_empty() && !quoted_empty {
                return Err(self.syntax_err_at(vstart));
            }
            values.push(if leading_star {
                TagMatch::Pattern(format!("*{text}{}", if prefix { "*" } else { "" }))
            } else if prefix {
                TagMatch::Prefix(text)
            } else {
                TagMatch::Exact(text)
            });
            self.pos += 1;
            if end == b'}' {
                break;
            }
        }
        Ok(Node::Tag { field, values })
    }

    /// `[min max]` after a NUMERIC field.
    fn numeric_value(&mut self, field: usize) -> Result<Node, QueryError> {
        if self.peek() != Some(b'[') {
            return Err(self.syntax_err());
        }
        self.pos += 1;
        let (a_at, a) = self.bracket_value()?;
        let (b_at, b) = self.bracket_value()?;
        self.expect(b']')?;
        let (min_excl, a) = match a.strip_prefix('(') {
            Some(r) => (true, r.to_string()),
            None => (false, a),
        };
        let (max_excl, b) = match b.strip_prefix('(') {
            Some(r) => (true, r.to_string()),
            None => (false, b),
        };
        Ok(Node::Numeric {
            field,
            min: self.number(a_at, &a)?,
            min_excl,
            max: self.number(b_at, &b)?,
            max_excl,
        })
    }

    /// `[lon lat radius unit]` after a GEO field.
    fn geo_value(&mut self, field: usize) -> Result<Node, QueryError> {
        if self.peek() != Some(b'[') {
            return Err(self.syntax_err());
        }
        self.pos += 1;
        let (at, lon) = self.bracket_value()?;
        let lon = self.number(at, &lon)?;
        let (at, lat) = self.bracket_value()?;
        let lat = self.number(at, &lat)?;
        let (at, r) = self.bracket_value()?;
        let r = self.number(at, &r)?;
        let (at, unit) = self.bracket_value()?;
        let per = crate::fields::geo_unit(&unit).ok_or_else(|| self.syntax_err_at(at))?;
        self.expect(b']')?;
        Ok(Node::Geo {
            field,
            lon,
            lat,
            radius_m: r * per,
        })
    }

    /// `[VECTOR_RANGE radius $blob]` after a VECTOR field.
    fn vector_range(&mut self, field: usize) -> Result<Node, QueryError> {
        if self.peek() != Some(b'[') {
            return Err(self.syntax_err());
        }
        self.pos += 1;
        let (at, kw) = self.bracket_word();
        if !kw.eq_ignore_ascii_case("VECTOR_RANGE") {
            return Err(self.syntax_err_at(at));
        }
        let (at, r) = self.bracket_value()?;
        let radius = self.number(at, &r)?;
        if radius < 0.0 {
            return Err(QueryError(
                crate::vector::VectorError::NegativeRadius(crate::vector::fmt_radius(radius))
                    .to_string(),
            ));
        }
        let (at, blob) = self.bracket_word();
        let Some(name) = blob.strip_prefix('$') else {
            return Err(self.syntax_err_at(at));
        };
        let blob = self.param(name)?.to_vec();
        self.expect(b']')?;
        Ok(Node::VectorRange {
            field,
            radius,
            blob,
            yield_as: None,
            epsilon: None,
        })
    }

    /// `{$name: value; …}` after `=>`.
    fn attributes(&mut self, node: &mut Node) -> Result<(), QueryError> {
        loop {
            self.ws();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b';') => {
                    self.pos += 1;
                    continue;
                }
                Some(b'$') => self.pos += 1,
                _ => return Err(self.syntax_err()),
            }
            let name = self.ident().to_ascii_lowercase();
            self.expect(b':')?;
            self.ws();
            let vstart = self.pos;
            while let Some(c) = self.peek() {
                if c == b';' || c == b'}' || c.is_ascii_whitespace() {
                    break;
                }
                self.pos += 1;
            }
            let mut value = String::from_utf8_lossy(&self.s[vstart..self.pos]).into_owned();
            if let Some(p) = value.strip_prefix('$') {
                value = String::from_utf8_lossy(self.param(p)?).into_owned();
            }
            let num = || value.parse::<f64>().map_err(|_| self.syntax_err_at(vstart));
            match name.as_str() {
                "weight" => {
                    let w = num()?;
                    set_weight(node, w);
                }
                "yield_distance_as" => {
                    if let Node::VectorRange { yield_as, .. } = node {
                        *yield_as = Some(value.clone());
                    }
                }
                "epsilon" => {
                    let e = num()?;
                    if let Node::VectorRange { epsilon, .. } = node {
                        *epsilon = Some(e);
                    }
                }
                // Accepted for compatibility; without positions they change
                // nothing here.
                "slop" | "inorder" | "phonetic" => {}
                _ => return Err(QueryError(format!("Invalid attribute {name}"))),
            }
        }
    }

    /// After `=>[`: `KNN k @field $blob [options] ]`.
    fn knn(&mut self) -> Result<Knn, QueryError> {
        let (at, kw) = self.bracket_word();
        if !kw.eq_ignore_ascii_case("KNN") {
            return Err(self.syntax_err_at(at));
        }
        let (at, k) = self.bracket_value()?;
        let k: usize = k.parse().map_err(|_| self.syntax_err_at(at))?;
        let (at, f) = self.bracket_word();
        let Some(fname) = f.strip_prefix('@') else {
            return Err(self.syntax_err_at(at));
        };
        let fidx = self.field_index(fname, at)?;
        let algo = match &self.env.def.fields[fidx].kind {
            FieldKind::Vector(p) => Some(p.algorithm),
            _ => None,
        };
        let (at, b) = self.bracket_word();
        let Some(bname) = b.strip_prefix('$') else {
            return Err(self.syntax_err_at(at));
        };
        let blob = self.param(bname)?.to_vec();
        let mut knn = Knn {
            k,
            field: algo.map(|_| fidx),
            field_name: fname.to_string(),
            blob_param: bname.to_string(),
            blob,
            ef_runtime: None,
            epsilon: None,
            hybrid_policy: None,
            batch_size: None,
            score_name: format!("__{fname}_score"),
        };
        loop {
            self.ws();
            if self.peek() == Some(b']') {
                self.pos += 1;
                break;
            }
            let (at, opt) = self.bracket_word();
            if opt.is_empty() {
                return Err(self.syntax_err_at(at));
            }
            let opt = opt.to_ascii_uppercase();
            let (vat, v) = self.bracket_value()?;
            match opt.as_str() {
                "EF_RUNTIME" => {
                    if algo != Some(Algorithm::Hnsw) {
                        return Err(QueryError::new(
                            "Error parsing vector similarity parameters: Invalid option",
                        ));
                    }
                    knn.ef_runtime = Some(v.parse().map_err(|_| self.syntax_err_at(vat))?);
                }
                "EPSILON" => {
                    knn.epsilon = Some(v.parse().map_err(|_| self.syntax_err_at(vat))?);
                }
                "HYBRID_POLICY" => {
                    let u = v.to_ascii_uppercase();
                    if u != "BATCHES" && u != "ADHOC_BF" {
                        return Err(QueryError::new(
                            "Error parsing vector similarity parameters: Invalid option",
                        ));
                    }
                    knn.hybrid_policy = Some(u);
                }
                "BATCH_SIZE" => {
                    knn.batch_size = Some(v.parse().map_err(|_| self.syntax_err_at(vat))?);
                }
                "AS" => {
                    if self.env.def.fields.iter().any(|f| f.name == v) {
                        return Err(QueryError(format!(
                            "Property `{v}` already exists in schema"
                        )));
                    }
                    knn.score_name = v;
                }
                _ => return Err(self.syntax_err_at(at)),
            }
        }
        // `=>{$yield_distance_as: x}` after the KNN clause renames the score.
        self.ws();
        if self.rest().starts_with(b"=>{") {
            self.pos += 3;
            let mut probe = Node::VectorRange {
                field: 0,
                radius: 0.0,
                blob: Vec::new(),
                yield_as: None,
                epsilon: None,
            };
            self.attributes(&mut probe)?;
            if let Node::VectorRange {
                yield_as, epsilon, ..
            } = probe
            {
                if let Some(y) = yield_as {
                    knn.score_name = y;
                }
                if epsilon.is_some() {
                    knn.epsilon = epsilon;
                }
            }
        }
        Ok(knn)
    }
}

/// Applies `$weight` to every text node under `node`.
fn set_weight(node: &mut Node, w: f64) {
    match node {
        Node::Term { weight, .. } | Node::Phrase { weight, .. } => *weight = w,
        Node::And(v) | Node::Or(v) => v.iter_mut().for_each(|n| set_weight(n, w)),
        Node::Optional(n) => set_weight(n, w),
        _ => {}
    }
}

/// A numeric range bound: a float, `inf`, `+inf`, `-inf`.
pub fn parse_bound(w: &str) -> Option<f64> {
    let l = w.to_ascii_lowercase();
    match l.as_str() {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => {
            if !l
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e'))
            {
                return None;
            }
            l.parse::<f64>().ok().filter(|x| !x.is_nan())
        }
    }
}
