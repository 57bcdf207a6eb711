//! FT.SEARCH: option parsing, running the query on the index, loading the
//! documents from the keyspace and shaping the reply (RESP2 flat array or
//! RESP3 map, as RediSearch 2.10).
//!
//! The index answers with keys in result order; the fields shown come from
//! the keyspace at reply time, read after the index lock is released (see
//! the locking note in the module root).

use super::sync::SEARCH_DB;
use super::{no_such_index, search_err, text, SearchIndex};
use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::util::eq_ic;
use quiver_engine::Value;
use quiver_resp::{format_g, format_g_buf, Args, FormattedG};
use quiver_search::{SearchOutput, SearchRequest};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// One `RETURN` entry: the name asked for and the name to show it under.
#[derive(Debug, Clone)]
pub(crate) struct ReturnField {
    pub name: String,
    pub show_as: String,
}

/// Options shared by FT.SEARCH and FT.AGGREGATE's query part.
#[derive(Debug, Default)]
pub(crate) struct QueryOptions {
    pub query: String,
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
    pub dialect: u32,
    pub verbatim: bool,
    pub no_stopwords: bool,
    pub in_keys: Option<Vec<Vec<u8>>>,
    pub in_fields: Option<Vec<String>>,
    pub scorer: Option<String>,
}

/// What FT.SEARCH alone takes.
#[derive(Debug, Default)]
struct SearchOptions {
    q: QueryOptions,
    no_content: bool,
    with_scores: bool,
    with_payloads: bool,
    with_sort_keys: bool,
    returns: Option<Vec<ReturnField>>,
    sort_by: Option<(String, bool)>,
    offset: usize,
    num: usize,
}

pub(crate) fn usize_arg(args: &Args<'_>, i: usize, what: &str) -> Result<usize, CmdError> {
    let Some(a) = args.try_get(i) else {
        return Err(search_err(format!(
            "Bad arguments for {what}: Expected an argument, but none provided"
        )));
    };
    std::str::from_utf8(a)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|v| *v >= 0)
        .map(|v| v as usize)
        .ok_or_else(|| search_err(format!("Bad arguments for {what}: Value is not an integer")))
}

/// Parses `PARAMS n k v …` at `i` (the keyword); returns the next position.
pub(crate) fn parse_params(
    args: &Args<'_>,
    i: usize,
    out: &mut Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<usize, CmdError> {
    let n = usize_arg(args, i + 1, "PARAMS")?;
    if n % 2 != 0 || n == 0 {
        return Err(search_err(
            "Parameters must be specified in PARAM VALUE pairs",
        ));
    }
    if i + 2 + n > args.len() {
        return Err(search_err(
            "Bad arguments for PARAMS: Expected an argument, but none provided",
        ));
    }
    for j in (0..n).step_by(2) {
        out.push((args.get(i + 2 + j).to_vec(), args.get(i + 3 + j).to_vec()));
    }
    Ok(i + 2 + n)
}

/// Tries the options FT.SEARCH and FT.AGGREGATE share at `i`; returns the
/// next position if it consumed one.
pub(crate) fn parse_common(
    args: &Args<'_>,
    i: usize,
    q: &mut QueryOptions,
) -> Result<Option<usize>, CmdError> {
    let a = args.get(i);
    let next = if eq_ic(a, "VERBATIM") {
        q.verbatim = true;
        i + 1
    } else if eq_ic(a, "NOSTOPWORDS") {
        q.no_stopwords = true;
        i + 1
    } else if eq_ic(a, "PARAMS") {
        parse_params(args, i, &mut q.params)?
    } else if eq_ic(a, "DIALECT") {
        let d = usize_arg(args, i + 1, "DIALECT")?;
        if !(1..=4).contains(&d) {
            return Err(search_err(
                "DIALECT requires a non negative integer >=1 and <= 4",
            ));
        }
        q.dialect = d as u32;
        i + 2
    } else if eq_ic(a, "TIMEOUT") {
        usize_arg(args, i + 1, "TIMEOUT")?;
        i + 2
    } else if eq_ic(a, "SCORER") {
        let Some(s) = args.try_get(i + 1) else {
            return Err(search_err(
                "Bad arguments for SCORER: Expected an argument, but none provided",
            ));
        };
        q.scorer = Some(text(s));
        i + 2
    } else if eq_ic(a, "INKEYS") {
        let n = usize_arg(args, i + 1, "INKEYS")?;
        if i + 2 + n > args.len() {
            return Err(search_err(
                "Bad arguments for INKEYS: Expected an argument, but none provided",
            ));
        }
        q.in_keys = Some((0..n).map(|j| args.get(i + 2 + j).to_vec()).collect());
        i + 2 + n
    } else if eq_ic(a, "INFIELDS") {
        let n = usize_arg(args, i + 1, "INFIELDS")?;
        if i + 2 + n > args.len() {
            return Err(search_err(
                "Bad arguments for INFIELDS: Expected an argument, but none provided",
            ));
        }
        q.in_fields = Some((0..n).map(|j| text(args.get(i + 2 + j))).collect());
        i + 2 + n
    } else if eq_ic(a, "LANGUAGE")
        || eq_ic(a, "SLOP")
        || eq_ic(a, "EXPANDER")
        || eq_ic(a, "PAYLOAD")
    {
        if args.try_get(i + 1).is_none() {
            return Err(search_err(format!(
                "Bad arguments for {}: Expected an argument, but none provided",
                text(a).to_uppercase()
            )));
        }
        i + 2
    } else if eq_ic(a, "INORDER") || eq_ic(a, "EXPLAINSCORE") {
        i + 1
    } else {
        return Ok(None);
    };
    Ok(Some(next))
}

/// Skips `SUMMARIZE`/`HIGHLIGHT` and their sub-options (accepted; Quiver
/// returns fields unabridged and unhighlighted).
fn skip_summarize(args: &Args<'_>, mut i: usize) -> Result<usize, CmdError> {
    i += 1;
    while let Some(a) = args.try_get(i) {
        if eq_ic(a, "FIELDS") {
            let n = usize_arg(args, i + 1, "FIELDS")?;
            i += 2 + n;
        } else if eq_ic(a, "FRAGS") || eq_ic(a, "LEN") || eq_ic(a, "SEPARATOR") {
            i += 2;
        } else if eq_ic(a, "TAGS") {
            i += 3;
        } else {
            break;
        }
    }
    Ok(i.min(args.len()))
}

fn parse_search(args: &Args<'_>) -> Result<SearchOptions, CmdError> {
    let mut o = SearchOptions {
        num: 10,
        ..Default::default()
    };
    o.q.query = text(args.get(2));
    o.q.dialect = 1;
    let mut extra_filters: Vec<String> = Vec::new();
    let mut i = 3;
    while i < args.len() {
        if let Some(next) = parse_common(args, i, &mut o.q)? {
            i = next;
            continue;
        }
        let a = args.get(i);
        if eq_ic(a, "NOCONTENT") {
            o.no_content = true;
            i += 1;
        } else if eq_ic(a, "WITHSCORES") {
            o.with_scores = true;
            i += 1;
        } else if eq_ic(a, "WITHPAYLOADS") {
            o.with_payloads = true;
            i += 1;
        } else if eq_ic(a, "WITHSORTKEYS") {
            o.with_sort_keys = true;
            i += 1;
        } else if eq_ic(a, "RETURN") {
            let n = usize_arg(args, i + 1, "RETURN")?;
            if i + 2 + n > args.len() {
                return Err(search_err(
                    "Bad arguments for RETURN: Expected an argument, but none provided",
                ));
            }
            let mut fields = Vec::new();
            let mut j = i + 2;
            let end = i + 2 + n;
            while j < end {
                let name = text(args.get(j));
                let mut show_as = name.clone();
                if j + 1 < end && eq_ic(args.get(j + 1), "AS") {
                    if j + 2 >= end {
                        return Err(search_err(
                            "Bad arguments for AS: Expected an argument, but none provided",
                        ));
                    }
                    show_as = text(args.get(j + 2));
                    j += 3;
                } else {
                    j += 1;
                }
                fields.push(ReturnField { name, show_as });
            }
            o.returns = Some(fields);
            i = end;
        } else if eq_ic(a, "SORTBY") {
            let Some(f) = args.try_get(i + 1) else {
                return Err(search_err(
                    "Bad arguments for SORTBY: Expected an argument, but none provided",
                ));
            };
            let field = text(f);
            let field = field.strip_prefix('@').unwrap_or(&field).to_string();
            let mut asc = true;
            i += 2;
            if let Some(d) = args.try_get(i) {
                if eq_ic(d, "ASC") {
                    i += 1;
                } else if eq_ic(d, "DESC") {
                    asc = false;
                    i += 1;
                }
            }
            if args.try_get(i).is_some_and(|a| eq_ic(a, "WITHCOUNT")) {
                i += 1;
            }
            o.sort_by = Some((field, asc));
        } else if eq_ic(a, "LIMIT") {
            o.offset = usize_arg(args, i + 1, "LIMIT")?;
            o.num = usize_arg(args, i + 2, "LIMIT")?;
            i += 3;
        } else if eq_ic(a, "SUMMARIZE") || eq_ic(a, "HIGHLIGHT") {
            i = skip_summarize(args, i)?;
        } else if eq_ic(a, "FILTER") {
            // Legacy numeric filter: the same as `@field:[min max]`.
            if i + 3 >= args.len() {
                return Err(search_err(
                    "Bad arguments for FILTER: Expected an argument, but none provided",
                ));
            }
            extra_filters.push(format!(
                "@{}:[{} {}]",
                text(args.get(i + 1)),
                text(args.get(i + 2)),
                text(args.get(i + 3))
            ));
            i += 4;
        } else if eq_ic(a, "GEOFILTER") {
            if i + 5 >= args.len() {
                return Err(search_err(
                    "Bad arguments for GEOFILTER: Expected an argument, but none provided",
                ));
            }
            extra_filters.push(format!(
                "@{}:[{} {} {} {}]",
                text(args.get(i + 1)),
                text(args.get(i + 2)),
                text(args.get(i + 3)),
                text(args.get(i + 4)),
                text(args.get(i + 5))
            ));
            i += 6;
        } else {
            return Err(search_err(format!("Unknown argument `{}`", text(a))));
        }
    }
    if !extra_filters.is_empty() {
        o.q.query = add_filters(&o.q.query, &extra_filters.join(" "));
    }
    Ok(o)
}

/// ANDs legacy FILTER/GEOFILTER clauses into a query. A KNN clause
/// (`…=>[KNN …]`) must stay last, so the filters join its prefilter.
fn add_filters(query: &str, filters: &str) -> String {
    match query.find("=>[") {
        Some(pos) => {
            let (pre, knn) = query.split_at(pos);
            let pre = pre.trim();
            if pre.is_empty() || pre == "*" {
                format!("({filters}){knn}")
            } else {
                format!("({pre} {filters}){knn}")
            }
        }
        None => format!("({query}) {filters}"),
    }
}

/// Drops expired documents before a query (the index is told about TTLs,
/// and an expired key must never be returned even if nothing touched it).
pub(crate) fn purge_due(idx: &SearchIndex, now: u64) {
    let due = idx.index.read().next_expiry().is_some_and(|t| t < now);
    if due {
        idx.index.write().purge_expired(now);
    }
}

/// Runs the query part on `idx`.
pub(crate) fn run_query(
    idx: &SearchIndex,
    q: &QueryOptions,
    sort_by: Option<(&str, bool)>,
    now: u64,
) -> Result<SearchOutput, CmdError> {
    purge_due(idx, now);
    idx.uses.fetch_add(1, Ordering::Relaxed);
    let params: Vec<(&[u8], &[u8])> = q
        .params
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    let in_keys: Option<Vec<&[u8]>> = q
        .in_keys
        .as_ref()
        .map(|k| k.iter().map(|k| k.as_slice()).collect());
    let in_fields: Option<Vec<&str>> = q
        .in_fields
        .as_ref()
        .map(|f| f.iter().map(|f| f.as_str()).collect());
    let req = SearchRequest {
        query: &q.query,
        params: &params,
        dialect: q.dialect,
        verbatim: q.verbatim,
        no_stopwords: q.no_stopwords,
        in_keys: in_keys.as_deref(),
        in_fields: in_fields.as_deref(),
        scorer: q.scorer.as_deref(),
        sort_by,
    };
    let index = idx.index.read();
    index.search(&req).map_err(|e| search_err(e.0))
}

/// Formats a distance or other computed number as RediSearch does: an
/// integer (`%lld`) when whole and in range, else `%.12g`.
pub(crate) fn format_number(d: f64) -> String {
    format_number_buf(d).as_str().to_string()
}

/// [`format_number`] on the stack (one per KNN hit on the hot path).
pub(crate) fn format_number_buf(d: f64) -> FormattedG {
    if d.is_finite() && d.fract() == 0.0 && d.abs() < 9.2e18 {
        // An integer below 2^63 has at most 19 digits: always fits.
        let mut out = FormattedG::new();
        let _ = write!(out, "{}", d as i64);
        out
    } else {
        format_g_buf(d, 12)
    }
}

/// A document's fields read from the keyspace (None if the key is gone).
/// A hash gives all its fields; a JSON document gives `$` (the whole
/// document as JSON text) plus the value at each of `json_paths`.
pub(crate) fn load_doc(
    ctx: &Ctx<'_>,
    key: &[u8],
    json_paths: &[&str],
) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    load_doc_fields(ctx, key, json_paths, None)
}

/// [`load_doc`] keeping only the hash fields (or, for JSON, `$`) named in
/// `only`, when given. A KNN query typically RETURNs just its distance
/// (computed, not stored), and copying every field of each hit, the
/// vector blob included, was most of FT.SEARCH's cost outside the graph
/// search; with `only` empty this is just the check that the key still
/// exists.
fn load_doc_fields(
    ctx: &Ctx<'_>,
    key: &[u8],
    json_paths: &[&str],
    only: Option<&[&str]>,
) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    use quiver_engine::listpack::Item;
    let wanted = |f: &[u8]| only.is_none_or(|o| o.iter().any(|w| w.as_bytes() == f));
    let mut view = ctx.server.keyspace.lock_key(SEARCH_DB, key, ctx.now);
    let e = view.peek(key)?;
    let h = match &e.value {
        Value::Hash(h) => h,
        Value::Json(j) => {
            let mut out = Vec::with_capacity(1 + json_paths.len());
            if wanted(b"$") {
                out.push((b"$".to_vec(), quiver_engine::types::json::to_vec(j)));
            }
            for p in json_paths {
                if *p != "$" {
                    if let Some(v) = super::sync::json_value_text(j, p) {
                        out.push((p.as_bytes().to_vec(), v));
                    }
                }
            }
            return Some(out);
        }
        _ => return None,
    };
    let bytes = |i: Item<'_>| match i {
        Item::Bytes(b) => b.to_vec(),
        Item::Int(v) => v.to_string().into_bytes(),
        Item::Float(v) => format_g(v, 17).into_bytes(),
    };
    if only.is_some_and(|o| o.is_empty()) {
        return Some(Vec::new());
    }
    Some(
        h.iter()
            .filter_map(|(f, v)| {
                // Test a stored name before copying it (the common case).
                if let Item::Bytes(b) = f {
                    if !wanted(b) {
                        return None;
                    }
                }
                let name = bytes(f);
                wanted(&name).then(|| (name, bytes(v)))
            })
            .collect(),
    )
}

/// Schema attribute names (AS aliases) and the hash fields or JSON paths
/// they read, copied out of the index so documents can be loaded after its
/// lock is released.
pub(crate) struct FieldPaths(Vec<(String, String)>);

impl FieldPaths {
    pub(crate) fn of(idx: &SearchIndex) -> Self {
        FieldPaths(
            idx.index
                .read()
                .def()
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.path.clone()))
                .collect(),
        )
    }

    /// Where attribute `name` is read from; a name outside the schema is a
    /// field name itself.
    pub(crate) fn path_of(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| name.to_string())
    }
}

/// The (name, value) pairs shown for one hit.
fn hit_fields(
    doc: &[(Vec<u8>, Vec<u8>)],
    yielded_names: &[String],
    yielded: &[f64],
    returns: Option<&[ReturnField]>,
    path_of: &dyn Fn(&str) -> String,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    match returns {
        None => {
            // NaN: the document has no such value (it matched another
            // branch of an OR next to a vector clause).
            for (n, v) in yielded_names.iter().zip(yielded) {
                if !v.is_nan() {
                    out.push((
                        n.as_bytes().to_vec(),
                        format_number_buf(*v).as_bytes().to_vec(),
                    ));
                }
            }
            out.extend(doc.iter().cloned());
        }
        Some(rs) => {
            for r in rs {
                if let Some(pos) = yielded_names.iter().position(|n| *n == r.name) {
                    if let Some(v) = yielded.get(pos).filter(|v| !v.is_nan()) {
                        out.push((
                            r.show_as.as_bytes().to_vec(),
                            format_number_buf(*v).as_bytes().to_vec(),
                        ));
                    }
                    continue;
                }
                let path = path_of(&r.name);
                if let Some((_, v)) = doc.iter().find(|(f, _)| f.as_slice() == path.as_bytes()) {
                    out.push((r.show_as.as_bytes().to_vec(), v.clone()));
                }
            }
        }
    }
    out
}

/// FT.SEARCH index query [options]
pub fn ft_search(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = text(args.get(1));
    let opts = parse_search(&args)?;
    let Some(idx) = ctx.server.search.get(&name) else {
        return Err(no_such_index(&name));
    };
    let out = run_query(
        &idx,
        &opts.q,
        opts.sort_by.as_ref().map(|(f, asc)| (f.as_str(), *asc)),
        ctx.now,
    )?;
    let paths = FieldPaths::of(&idx);
    let path_of = |n: &str| paths.path_of(n);
    let window: Vec<_> = out.hits.iter().skip(opts.offset).take(opts.num).collect();
    let content = !opts.no_content && opts.returns.as_ref().is_none_or(|r| !r.is_empty());
    let return_paths: Vec<String> = opts
        .returns
        .iter()
        .flatten()
        .map(|r| path_of(&r.name))
        .collect();
    let return_paths: Vec<&str> = return_paths.iter().map(String::as_str).collect();
    // With RETURN, only the stored fields it names (not the computed ones,
    // such as a KNN distance) need copying out of each document.
    let stored_paths: Option<Vec<&str>> = opts.returns.as_ref().map(|rs| {
        rs.iter()
            .zip(&return_paths)
            .filter(|(r, _)| !out.yielded.contains(&r.name))
            .map(|(_, p)| *p)
            .collect()
    });
    // RETURN naming only computed values (a KNN query returning its
    // distance): nothing to read from the keyspace. The index alone decides
    // whether the document is live, as it does for NOCONTENT: `run_query`
    // purged what expired, and deletes reach the index as they happen.
    let only_computed = stored_paths.as_ref().is_some_and(|p| p.is_empty());
    let mut rows = Vec::with_capacity(window.len());
    for hit in window {
        let fields = if content {
            let doc = if only_computed {
                Some(Vec::new())
            } else {
                load_doc_fields(ctx, &hit.key, &return_paths, stored_paths.as_deref())
            };
            match doc {
                Some(doc) => Some(hit_fields(
                    &doc,
                    &out.yielded,
                    &hit.yielded,
                    opts.returns.as_deref(),
                    &path_of,
                )),
                None => continue,
            }
        } else {
            None
        };
        rows.push((hit, fields));
    }
    let reply = &mut *ctx.reply;
    if reply.is_resp3() {
        reply.map(5);
        reply.bulk_str("attributes");
        reply.array(0);
        reply.bulk_str("format");
        reply.bulk_str("STRING");
        reply.bulk_str("results");
        reply.array(rows.len());
        for (hit, fields) in &rows {
            let mut n = 2;
            if opts.with_scores {
                n += 1;
            }
            if fields.is_some() {
                n += 1;
            }
            reply.map(n);
            reply.bulk_str("id");
            reply.bulk(&hit.key);
            if opts.with_scores {
                reply.bulk_str("score");
                reply.double(hit.score);
            }
            if let Some(fields) = fields {
                reply.bulk_str("extra_attributes");
                reply.map(fields.len());
                for (f, v) in fields {
                    reply.bulk(f);
                    reply.bulk(v);
                }
            }
            reply.bulk_str("values");
            reply.array(0);
        }
        reply.bulk_str("total_results");
        reply.int(out.total as i64);
        reply.bulk_str("warning");
        reply.array(0);
        return Ok(());
    }
    let per_row = 1
        + opts.with_scores as usize
        + opts.with_payloads as usize
        + opts.with_sort_keys as usize
        + content as usize;
    reply.array(1 + rows.len() * per_row);
    reply.int(out.total as i64);
    for (hit, fields) in &rows {
        reply.bulk(&hit.key);
        if opts.with_scores {
            reply.bulk_str(&format_g(hit.score, 17));
        }
        if opts.with_payloads {
            reply.null();
        }
        if opts.with_sort_keys {
            reply.null();
        }
        if let Some(fields) = fields {
            reply.array(fields.len() * 2);
            for (f, v) in fields {
                reply.bulk(f);
                reply.bulk(v);
            }
        }
    }
    Ok(())
}

/// Writes a document's fields as a flat array, or a null if it is gone.
fn write_doc(ctx: &mut Ctx<'_>, key: &[u8]) {
    match load_doc(ctx, key, &[]) {
        Some(doc) => {
            ctx.reply.array(doc.len() * 2);
            for (f, v) in &doc {
                ctx.reply.bulk(f);
                ctx.reply.bulk(v);
            }
        }
        None => ctx.reply.null(),
    }
}

/// FT.GET index key (deprecated in RediSearch, still used by clients)
pub fn ft_get(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = text(args.get(1));
    if ctx.server.search.get(&name).is_none() {
        return Err(super::unknown_index());
    }
    write_doc(ctx, args.get(2));
    Ok(())
}

/// FT.MGET index key…
pub fn ft_mget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = text(args.get(1));
    if ctx.server.search.get(&name).is_none() {
        return Err(super::unknown_index());
    }
    ctx.reply.array(args.len() - 2);
    for i in 2..args.len() {
        write_doc(ctx, args.get(i));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::add_filters;

    #[test]
    fn legacy_filters_join_the_knn_prefilter() {
        assert_eq!(
            add_filters("*=>[KNN 3 @v $q]", "@n:[1 2]"),
            "(@n:[1 2])=>[KNN 3 @v $q]"
        );
        assert_eq!(
            add_filters("@t:{a}=>[KNN 3 @v $q]", "@n:[1 2]"),
            "(@t:{a} @n:[1 2])=>[KNN 3 @v $q]"
        );
        assert_eq!(add_filters("hello", "@n:[1 2]"), "(hello) @n:[1 2]");
    }
}
