//! FT.EXPLAIN: a readable, stable rendering of a parsed query, in the
//! spirit of RediSearch's (nested `INTERSECT {…}` / `UNION {…}` blocks,
//! one node per line, two-space indentation).

use std::fmt::Write;

use super::ast::{Node, Query, TagMatch, TermKind};
use crate::index::Index;

/// Renders `q`; the text always ends with a newline.
pub fn explain(ix: &Index, q: &Query) -> String {
    let mut out = String::new();
    match &q.knn {
        Some(k) => {
            let _ = writeln!(
                out,
                "VECTOR {{K={} nearest vectors to `${}` in vector index associated with field @{}, yields distance as `{}`}}",
                k.k, k.blob_param, k.field_name, k.score_name
            );
            if q.root != Node::All {
                out.push_str("PREFILTER {\n");
                node(ix, &q.root, 1, &mut out);
                out.push_str("}\n");
            }
        }
        None => node(ix, &q.root, 0, &mut out),
    }
    out
}

fn fname(ix: &Index, i: usize) -> &str {
    &ix.def.fields[i].name
}

/// `@a|b:` prefix for a text field mask (empty when all fields).
fn mask_prefix(ix: &Index, mask: u64) -> String {
    if mask == u64::MAX {
        return String::new();
    }
    let names: Vec<&str> = ix
        .text_fields
        .iter()
        .enumerate()
        .filter(|(o, _)| *o < 64 && mask & (1 << o) != 0)
        .map(|(_, (fi, _, _))| fname(ix, *fi))
        .collect();
    format!("@{}:", names.join("|"))
}

fn fmt_num(x: f64) -> String {
    if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{x:.6}")
    }
}

fn node(ix: &Index, n: &Node, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let block = |title: &str, kids: &[&Node], out: &mut String| {
        let _ = writeln!(out, "{pad}{title} {{");
        for k in kids {
            node(ix, k, depth + 1, out);
        }
        let _ = writeln!(out, "{pad}}}");
    };
    match n {
        Node::All => {
            let _ = writeln!(out, "{pad}<WILDCARD>");
        }
        Node::Null => {
            let _ = writeln!(out, "{pad}<EMPTY>");
        }
        Node::And(v) => block("INTERSECT", &v.iter().collect::<Vec<_>>(), out),
        Node::Or(v) => block("UNION", &v.iter().collect::<Vec<_>>(), out),
        Node::Not(x) => block("NOT", &[x], out),
        Node::Optional(x) => block("OPTIONAL", &[x], out),
        Node::Term {
            text, kind, fields, ..
        } => {
            let p = mask_prefix(ix, *fields);
            let _ = match kind {
                TermKind::Exact => writeln!(out, "{pad}{p}{text}"),
                TermKind::Prefix => writeln!(out, "{pad}PREFIX{{{p}{text}*}}"),
                TermKind::Pattern => writeln!(out, "{pad}WILDCARD{{{p}{text}}}"),
                TermKind::Fuzzy(d) => {
                    let pc = "%".repeat(*d);
                    writeln!(out, "{pad}FUZZY{{{p}{pc}{text}{pc}}}")
                }
            };
        }
        Node::Phrase { terms, fields, .. } => {
            let p = mask_prefix(ix, *fields);
            let _ = writeln!(out, "{pad}{p}EXACT {{");
            for t in terms {
                let _ = writeln!(out, "{pad}  {t}");
            }
            let _ = writeln!(out, "{pad}}}");
        }
        Node::Tag { field, values } => {
            let _ = writeln!(out, "{pad}TAG:@{} {{", fname(ix, *field));
            for v in values {
                let _ = match v {
                    TagMatch::Exact(s) => writeln!(out, "{pad}  {s}"),
                    TagMatch::Prefix(s) => writeln!(out, "{pad}  PREFIX{{{s}*}}"),
                    TagMatch::Pattern(s) => writeln!(out, "{pad}  WILDCARD{{{s}}}"),
                };
            }
            let _ = writeln!(out, "{pad}}}");
        }
        Node::Numeric {
            field,
            min,
            min_excl,
            max,
            max_excl,
        } => {
            let _ = writeln!(
                out,
                "{pad}NUMERIC {{{} {} @{} {} {}}}",
                fmt_num(*min),
                if *min_excl { "<" } else { "<=" },
                fname(ix, *field),
                if *max_excl { "<" } else { "<=" },
                fmt_num(*max)
            );
        }
        Node::Geo {
            field,
            lon,
            lat,
            radius_m,
        } => {
            let _ = writeln!(
                out,
                "{pad}GEO @{}:{{{lon},{lat} --> {radius_m} m}}",
                fname(ix, *field)
            );
        }
        Node::VectorRange {
            field,
            radius,
            yield_as,
            ..
        } => {
            let _ = write!(
                out,
                "{pad}VECTOR {{Vectors that are within {radius} distance radius from the query vector in vector index associated with field @{}",
                fname(ix, *field)
            );
            if let Some(y) = yield_as {
                let _ = write!(out, ", yields distance as `{y}`");
            }
            out.push_str("}\n");
        }
        Node::Missing { field } => {
            let _ = writeln!(out, "{pad}ISMISSING{{@{}}}", fname(ix, *field));
        }
    }
}
