//! FT.AGGREGATE and FT.CURSOR: the query selects documents, then a
//! pipeline of steps (LOAD, GROUPBY + REDUCE, APPLY, FILTER, SORTBY,
//! LIMIT) runs over rows, in the order the client wrote them.
//!
//! A row starts as the matched document: its key and the query's computed
//! values (e.g. a VECTOR_RANGE distance). Fields a step reads that the row
//! does not carry are read from the document on demand, as RediSearch does
//! for schema fields; only fields the pipeline produced (or LOADed) are
//! shown. Rows after GROUPBY are groups and have no document behind them.

use super::expr::{self, Expr, Val};
use super::query::{load_doc, parse_common, run_query, usize_arg, FieldPaths, QueryOptions};
use super::{no_such_index, search_err, text};
use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::util::eq_ic;
use hashbrown::{HashMap, HashSet};
use quiver_resp::{Args, ReplyBuf};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One row of the pipeline.
#[derive(Debug, Clone, Default)]
struct Row {
    /// The document behind the row (None after GROUPBY).
    key: Option<Vec<u8>>,
    score: f64,
    /// Fields read from the document so far (loaded on demand).
    doc: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    /// Shown fields, in order.
    fields: Vec<(String, Val)>,
}

impl Row {
    fn get(&self, name: &str) -> Option<&Val> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn set(&mut self, name: &str, v: Val) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = v,
            None => self.fields.push((name.to_string(), v)),
        }
    }
}

/// A REDUCE clause.
#[derive(Debug, Clone)]
struct Reducer {
    func: String,
    args: Vec<String>,
    name: String,
}

#[derive(Debug, Clone)]
enum Step {
    /// `(hash field, shown name)`; `None` = `LOAD *`.
    Load(Option<Vec<(String, String)>>),
    GroupBy(Vec<String>, Vec<Reducer>),
    Apply(Expr, String),
    Filter(Expr),
    SortBy(Vec<(String, bool)>, Option<usize>),
    Limit(usize, usize),
}

struct Plan {
    q: QueryOptions,
    steps: Vec<Step>,
    cursor: Option<(usize, u64)>,
    add_scores: bool,
}

/// Strips the `@` of a property reference.
fn prop(arg: &[u8]) -> String {
    let t = text(arg);
    t.strip_prefix('@').map(str::to_string).unwrap_or(t)
}

fn parse_reducer(args: &Args<'_>, i: usize) -> Result<(Reducer, usize), CmdError> {
    let Some(f) = args.try_get(i + 1) else {
        return Err(search_err(
            "Bad arguments for REDUCE: Expected an argument, but none provided",
        ));
    };
    let func = text(f).to_lowercase();
    let n = usize_arg(args, i + 2, "REDUCE")?;
    if i + 3 + n > args.len() {
        return Err(search_err(
            "Bad arguments for REDUCE: Expected an argument, but none provided",
        ));
    }
    let rargs: Vec<String> = (0..n).map(|j| text(args.get(i + 3 + j))).collect();
    let known = [
        "count",
        "count_distinct",
        "count_distinctish",
        "sum",
        "min",
        "max",
        "avg",
        "tolist",
        "first_value",
        "stddev",
        "quantile",
        "random_sample",
    ];
    if !known.contains(&func.as_str()) {
        return Err(search_err(format!(
            "Bad arguments for REDUCE: Unknown reducer `{}`",
            text(f)
        )));
    }
    let mut next = i + 3 + n;
    // RediSearch names an unaliased reducer after its function and all its
    // arguments: `__generated_aliasquantileprice,0.5`.
    let field_part: String = rargs
        .iter()
        .map(|a| a.trim_start_matches('@'))
        .collect::<Vec<_>>()
        .join(",");
    let mut name = format!("__generated_alias{func}{field_part}");
    if args.try_get(next).is_some_and(|a| eq_ic(a, "AS")) {
        let Some(a) = args.try_get(next + 1) else {
            return Err(search_err(
                "Bad arguments for AS: Expected an argument, but none provided",
            ));
        };
        name = text(a);
        next += 2;
    }
    Ok((
        Reducer {
            func,
            args: rargs,
            name,
        },
        next,
    ))
}

fn parse_plan(args: &Args<'_>) -> Result<Plan, CmdError> {
    let mut plan = Plan {
        q: QueryOptions {
            query: text(args.get(2)),
            dialect: 1,
            ..Default::default()
        },
        steps: Vec::new(),
        cursor: None,
        add_scores: false,
    };
    let mut i = 3;
    while i < args.len() {
        if let Some(next) = parse_common(args, i, &mut plan.q)? {
            i = next;
            continue;
        }
        let a = args.get(i);
        if eq_ic(a, "LOAD") {
            let Some(n) = args.try_get(i + 1) else {
                return Err(search_err(
                    "Bad arguments for LOAD: Expected an argument, but none provided",
                ));
            };
            if n == b"*" {
                plan.steps.push(Step::Load(None));
                i += 2;
                continue;
            }
            let n = usize_arg(args, i + 1, "LOAD")?;
            if i + 2 + n > args.len() {
                return Err(search_err(
                    "Bad arguments for LOAD: Expected an argument, but none provided",
                ));
            }
            let mut fields = Vec::new();
            let end = i + 2 + n;
            let mut j = i + 2;
            while j < end {
                let f = prop(args.get(j));
                if j + 2 < end && eq_ic(args.get(j + 1), "AS") {
                    fields.push((f, text(args.get(j + 2))));
                    j += 3;
                } else {
                    fields.push((f.clone(), f));
                    j += 1;
                }
            }
            plan.steps.push(Step::Load(Some(fields)));
            i = end;
        } else if eq_ic(a, "GROUPBY") {
            let n = usize_arg(args, i + 1, "GROUPBY")?;
            if i + 2 + n > args.len() {
                return Err(search_err(
                    "Bad arguments for GROUPBY: Expected an argument, but none provided",
                ));
            }
            let fields: Vec<String> = (0..n).map(|j| prop(args.get(i + 2 + j))).collect();
            let mut j = i + 2 + n;
            let mut reducers = Vec::new();
            while args.try_get(j).is_some_and(|a| eq_ic(a, "REDUCE")) {
                let (r, next) = parse_reducer(args, j)?;
                reducers.push(r);
                j = next;
            }
            plan.steps.push(Step::GroupBy(fields, reducers));
            i = j;
        } else if eq_ic(a, "APPLY") {
            let Some(e) = args.try_get(i + 1) else {
                return Err(search_err(
                    "Bad arguments for APPLY: Expected an argument, but none provided",
                ));
            };
            let expr = expr::parse(&text(e)).map_err(search_err)?;
            if !args.try_get(i + 2).is_some_and(|a| eq_ic(a, "AS")) || args.try_get(i + 3).is_none()
            {
                return Err(search_err("AS is required for APPLY"));
            }
            plan.steps.push(Step::Apply(expr, text(args.get(i + 3))));
            i += 4;
        } else if eq_ic(a, "FILTER") {
            let Some(e) = args.try_get(i + 1) else {
                return Err(search_err(
                    "Bad arguments for FILTER: Expected an argument, but none provided",
                ));
            };
            plan.steps
                .push(Step::Filter(expr::parse(&text(e)).map_err(search_err)?));
            i += 2;
        } else if eq_ic(a, "SORTBY") {
            let n = usize_arg(args, i + 1, "SORTBY")?;
            if i + 2 + n > args.len() {
                return Err(search_err(
                    "Bad arguments for SORTBY: Expected an argument, but none provided",
                ));
            }
            let mut keys: Vec<(String, bool)> = Vec::new();
            for j in 0..n {
                let t = args.get(i + 2 + j);
                if eq_ic(t, "ASC") || eq_ic(t, "DESC") {
                    if let Some(last) = keys.last_mut() {
                        last.1 = eq_ic(t, "ASC");
                    }
                } else {
                    keys.push((prop(t), true));
                }
            }
            let mut next = i + 2 + n;
            let mut max = None;
            if args.try_get(next).is_some_and(|a| eq_ic(a, "MAX")) {
                max = Some(usize_arg(args, next + 1, "MAX")?);
                next += 2;
            }
            plan.steps.push(Step::SortBy(keys, max));
            i = next;
        } else if eq_ic(a, "LIMIT") {
            let off = usize_arg(args, i + 1, "LIMIT")?;
            let num = usize_arg(args, i + 2, "LIMIT")?;
            plan.steps.push(Step::Limit(off, num));
            i += 3;
        } else if eq_ic(a, "WITHCURSOR") {
            let mut count = 1000;
            let mut idle = 300_000;
            i += 1;
            loop {
                if args.try_get(i).is_some_and(|a| eq_ic(a, "COUNT")) {
                    count = usize_arg(args, i + 1, "COUNT")?.max(1);
                    i += 2;
                } else if args.try_get(i).is_some_and(|a| eq_ic(a, "MAXIDLE")) {
                    idle = usize_arg(args, i + 1, "MAXIDLE")? as u64;
                    i += 2;
                } else {
                    break;
                }
            }
            plan.cursor = Some((count, idle));
        } else if eq_ic(a, "ADDSCORES") {
            plan.add_scores = true;
            i += 1;
        } else if eq_ic(a, "SCORER") || eq_ic(a, "TIMEOUT") {
            i += 2;
        } else {
            return Err(search_err(format!("Unknown argument `{}`", text(a))));
        }
    }
    Ok(plan)
}

/// Reads `name` for a row: shown fields first, then the document (schema
/// aliases resolved through `path_of`), then the special `__key`/`__score`.
fn lookup(ctx: &Ctx<'_>, row: &mut Row, name: &str, path_of: &dyn Fn(&str) -> String) -> Val {
    if let Some(v) = row.get(name) {
        return v.clone();
    }
    match name {
        "__key" => {
            return row
                .key
                .as_ref()
                .map(|k| Val::Str(String::from_utf8_lossy(k).into_owned()))
                .unwrap_or(Val::Null)
        }
        "__score" => return Val::Num(row.score),
        _ => {}
    }
    let Some(key) = row.key.clone() else {
        return Val::Null;
    };
    let path = path_of(name);
    if row.doc.is_none() {
        row.doc = Some(load_doc(ctx, &key, &[&path]).unwrap_or_default());
    } else if path.starts_with('$')
        && !row
            .doc
            .iter()
            .flatten()
            .any(|(f, _)| f.as_slice() == path.as_bytes())
    {
        // A JSON path not loaded yet.
        if let Some(more) = load_doc(ctx, &key, &[&path]) {
            if let Some(doc) = row.doc.as_mut() {
                doc.extend(more.into_iter().filter(|(f, _)| f.as_slice() != b"$"));
            }
        }
    }
    let v = row
        .doc
        .as_ref()
        .and_then(|d| d.iter().find(|(f, _)| f.as_slice() == path.as_bytes()))
        .map(|(_, v)| Val::Str(String::from_utf8_lossy(v).into_owned()));
    match v {
        // A field a step reads joins the row and is shown, as in RediSearch
        // (FILTER @a … shows `a`; SORTBY @b shows `b`).
        Some(v) => {
            row.set(name, v.clone());
            v
        }
        None => Val::Null,
    }
}

fn eval_row(
    ctx: &Ctx<'_>,
    row: &mut Row,
    e: &Expr,
    path_of: &dyn Fn(&str) -> String,
) -> Result<Val, CmdError> {
    let mut names = Vec::new();
    expr::fields(e, &mut names);
    let vals: Vec<(String, Val)> = names
        .into_iter()
        .map(|n| {
            let v = lookup(ctx, row, &n, path_of);
            (n, v)
        })
        .collect();
    expr::eval(e, &|n| {
        vals.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or(Val::Null)
    })
    .map_err(search_err)
}

fn compare(a: &Val, b: &Val) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Val::Null, Val::Null) => Equal,
        (Val::Null, _) => Greater,
        (_, Val::Null) => Less,
        _ => match (a.as_num(), b.as_num()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Equal),
            _ => a.to_text().cmp(&b.to_text()),
        },
    }
}

/// One GROUPBY group while rows are folded: its position in first-seen
/// order, then per reducer the values it reads and its `BY` values.
type Group = (usize, Vec<Vec<Val>>, Vec<Vec<Val>>);

/// Folds one group's rows into a reducer's value.
fn reduce(r: &Reducer, vals: &[Val], by: &[Val]) -> Val {
    let nums = || vals.iter().filter_map(|v| v.as_num());
    match r.func.as_str() {
        "count" => Val::Num(vals.len() as f64),
        "count_distinct" | "count_distinctish" => {
            let set: HashSet<String> = vals
                .iter()
                .filter(|v| **v != Val::Null)
                .map(|v| v.to_text())
                .collect();
            Val::Num(set.len() as f64)
        }
        "sum" => Val::Num(nums().sum()),
        "min" => Val::Num(nums().fold(f64::INFINITY, f64::min)),
        "max" => Val::Num(nums().fold(f64::NEG_INFINITY, f64::max)),
        "avg" => {
            let (s, n) = nums().fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
            if n == 0 {
                Val::Num(f64::NAN)
            } else {
                Val::Num(s / n as f64)
            }
        }
        "tolist" => {
            let mut seen = HashSet::new();
            Val::List(
                vals.iter()
                    .filter(|v| **v != Val::Null && seen.insert(v.to_text()))
                    .cloned()
                    .collect(),
            )
        }
        "first_value" => {
            let desc = r.args.iter().any(|a| a.eq_ignore_ascii_case("DESC"));
            if by.is_empty() {
                return vals.first().cloned().unwrap_or(Val::Null);
            }
            let mut best: Option<usize> = None;
            for (i, b) in by.iter().enumerate() {
                if *b == Val::Null {
                    continue;
                }
                best = match best {
                    None => Some(i),
                    Some(j) => {
                        let o = compare(b, &by[j]);
                        let better = if desc { o.is_gt() } else { o.is_lt() };
                        Some(if better { i } else { j })
                    }
                };
            }
            best.map(|i| vals[i].clone()).unwrap_or(Val::Null)
        }
        "stddev" => {
            let xs: Vec<f64> = nums().collect();
            if xs.len() < 2 {
                return Val::Num(0.0);
            }
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
            Val::Num(var.sqrt())
        }
        "quantile" => {
            let q: f64 = r.args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0.5);
            let mut xs: Vec<f64> = nums().collect();
            if xs.is_empty() {
                return Val::Null;
            }
            xs.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            let pos = ((xs.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
            Val::Num(xs[pos])
        }
        "random_sample" => {
            let n: usize = r.args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
            Val::List(
                vals.iter()
                    .filter(|v| **v != Val::Null)
                    .take(n)
                    .cloned()
                    .collect(),
            )
        }
        _ => Val::Null,
    }
}

fn run_steps(
    ctx: &Ctx<'_>,
    mut rows: Vec<Row>,
    steps: &[Step],
    path_of: &dyn Fn(&str) -> String,
) -> Result<(Vec<Row>, usize), CmdError> {
    let mut total = rows.len();
    for step in steps {
        match step {
            Step::Load(None) => {
                for row in rows.iter_mut() {
                    let Some(key) = row.key.clone() else { continue };
                    if row.doc.is_none() {
                        row.doc = Some(load_doc(ctx, &key, &[]).unwrap_or_default());
                    }
                    let doc = row.doc.clone().unwrap_or_default();
                    for (f, v) in doc {
                        row.set(
                            &text(&f),
                            Val::Str(String::from_utf8_lossy(&v).into_owned()),
                        );
                    }
                }
            }
            Step::Load(Some(fields)) => {
                for row in rows.iter_mut() {
                    for (f, show) in fields {
                        let v = lookup(ctx, row, f, path_of);
                        if v != Val::Null {
                            row.set(show, v);
                        }
                    }
                }
            }
            Step::Apply(e, name) => {
                for row in rows.iter_mut() {
                    let v = eval_row(ctx, row, e, path_of)?;
                    row.set(name, v);
                }
            }
            Step::Filter(e) => {
                let mut kept = Vec::with_capacity(rows.len());
                for mut row in rows {
                    if eval_row(ctx, &mut row, e, path_of)?.truthy() {
                        kept.push(row);
                    }
                }
                rows = kept;
                total = rows.len();
            }
            Step::GroupBy(fields, reducers) => {
                let mut order: Vec<Vec<Val>> = Vec::new();
                let mut groups: HashMap<Vec<String>, Group> = HashMap::new();
                for mut row in rows {
                    let key_vals: Vec<Val> = fields
                        .iter()
                        .map(|f| lookup(ctx, &mut row, f, path_of))
                        .collect();
                    let gk: Vec<String> = key_vals.iter().map(|v| format!("{v:?}")).collect();
                    let entry = groups.entry(gk).or_insert_with(|| {
                        order.push(key_vals.clone());
                        (
                            order.len() - 1,
                            vec![Vec::new(); reducers.len()],
                            vec![Vec::new(); reducers.len()],
                        )
                    });
                    for (ri, r) in reducers.iter().enumerate() {
                        let v = match r.args.first() {
                            Some(f) if r.func != "count" => {
                                lookup(ctx, &mut row, f.trim_start_matches('@'), path_of)
                            }
                            _ => Val::Num(1.0),
                        };
                        entry.1[ri].push(v);
                        if r.func == "first_value" {
                            let by = r
                                .args
                                .iter()
                                .position(|a| a.eq_ignore_ascii_case("BY"))
                                .and_then(|p| r.args.get(p + 1))
                                .map(|f| lookup(ctx, &mut row, f.trim_start_matches('@'), path_of));
                            if let Some(b) = by {
                                entry.2[ri].push(b);
                            }
                        }
                    }
                }
                let mut out: Vec<(usize, Row)> = groups
                    .into_values()
                    .map(|(pos, vals, bys)| {
                        let mut row = Row::default();
                        for (f, v) in fields.iter().zip(order[pos].iter()) {
                            row.fields.push((f.clone(), v.clone()));
                        }
                        for (ri, r) in reducers.iter().enumerate() {
                            row.fields
                                .push((r.name.clone(), reduce(r, &vals[ri], &bys[ri])));
                        }
                        (pos, row)
                    })
                    .collect();
                out.sort_by_key(|(pos, _)| *pos);
                rows = out.into_iter().map(|(_, r)| r).collect();
                total = rows.len();
            }
            Step::SortBy(keys, max) => {
                let mut keyed: Vec<(Vec<Val>, Row)> = rows
                    .into_iter()
                    .map(|mut r| {
                        let k = keys
                            .iter()
                            .map(|(f, _)| lookup(ctx, &mut r, f, path_of))
                            .collect();
                        (k, r)
                    })
                    .collect();
                keyed.sort_by(|(a, _), (b, _)| {
                    for (i, (_, asc)) in keys.iter().enumerate() {
                        let o = compare(&a[i], &b[i]);
                        let o = if *asc || matches!((&a[i], &b[i]), (Val::Null, _) | (_, Val::Null))
                        {
                            o
                        } else {
                            o.reverse()
                        };
                        if o.is_ne() {
                            return o;
                        }
                    }
                    std::cmp::Ordering::Equal
                });
                rows = keyed.into_iter().map(|(_, r)| r).collect();
                if let Some(m) = max {
                    rows.truncate(*m);
                }
            }
            Step::Limit(off, n) => {
                rows = rows.into_iter().skip(*off).take(*n).collect();
            }
        }
    }
    Ok((rows, total))
}

fn write_val(reply: &mut ReplyBuf, v: &Val) {
    match v {
        Val::Null => reply.null(),
        Val::Num(n) => reply.bulk_str(&super::query::format_number(*n)),
        Val::Str(s) => reply.bulk_str(s),
        Val::List(l) => {
            reply.array(l.len());
            for x in l {
                write_val(reply, x);
            }
        }
    }
}

/// Writes a batch of rows (the whole result, or one cursor read).
fn write_rows(reply: &mut ReplyBuf, total: usize, rows: &[Row]) {
    if reply.is_resp3() {
        reply.map(5);
        reply.bulk_str("attributes");
        reply.array(0);
        reply.bulk_str("format");
        reply.bulk_str("STRING");
        reply.bulk_str("results");
        reply.array(rows.len());
        for row in rows {
            reply.map(2);
            reply.bulk_str("extra_attributes");
            reply.map(row.fields.len());
            for (k, v) in &row.fields {
                reply.bulk_str(k);
                write_val(reply, v);
            }
            reply.bulk_str("values");
            reply.array(0);
        }
        reply.bulk_str("total_results");
        reply.int(total as i64);
        reply.bulk_str("warning");
        reply.array(0);
        return;
    }
    reply.array(1 + rows.len());
    reply.int(total as i64);
    for row in rows {
        reply.array(row.fields.len() * 2);
        for (k, v) in &row.fields {
            reply.bulk_str(k);
            write_val(reply, v);
        }
    }
}

/// An open WITHCURSOR result.
pub struct Cursor {
    index: String,
    rows: VecDeque<Row>,
    total: usize,
    count: usize,
    max_idle: Duration,
    last_use: Instant,
}

/// Open cursors by id.
#[derive(Default)]
pub struct Cursors {
    next: u64,
    open: HashMap<u64, Cursor>,
}

impl Cursors {
    pub fn clear(&mut self) {
        self.open.clear();
    }

    fn expire_idle(&mut self) {
        let now = Instant::now();
        self.open
            .retain(|_, c| now.duration_since(c.last_use) <= c.max_idle);
    }

    fn add(&mut self, c: Cursor) -> u64 {
        self.expire_idle();
        self.next += 1;
        // Ids look random to clients but never repeat or collide with 0.
        let id = self.next.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 1 | 1;
        self.open.insert(id, c);
        id
    }
}

/// Sends up to `count` rows of a cursor, with the cursor id (0 when done).
fn read_cursor(
    reply: &mut ReplyBuf,
    cursors: &mut Cursors,
    id: u64,
    count: Option<usize>,
) -> CmdResult {
    let Some(c) = cursors.open.get_mut(&id) else {
        return Err(search_err("Cursor not found"));
    };
    let n = count.unwrap_or(c.count).min(c.rows.len());
    let batch: Vec<Row> = c.rows.drain(..n).collect();
    c.last_use = Instant::now();
    let done = c.rows.is_empty();
    let total = c.total;
    if done {
        cursors.open.remove(&id);
    }
    reply.array(2);
    write_rows(reply, total, &batch);
    reply.int(if done { 0 } else { id as i64 });
    Ok(())
}

/// FT.AGGREGATE index query [steps…]
pub fn ft_aggregate(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = text(args.get(1));
    let plan = parse_plan(&args)?;
    let Some(idx) = ctx.server.search.get(&name) else {
        return Err(no_such_index(&name));
    };
    let out = run_query(&idx, &plan.q, None, ctx.now)?;
    let paths = FieldPaths::of(&idx);
    let path_of = |n: &str| paths.path_of(n);
    let rows: Vec<Row> = out
        .hits
        .iter()
        .map(|h| {
            let mut r = Row {
                key: Some(h.key.clone()),
                score: h.score,
                ..Default::default()
            };
            for (n, v) in out.yielded.iter().zip(&h.yielded) {
                if !v.is_nan() {
                    r.fields.push((n.clone(), Val::Num(*v)));
                }
            }
            if plan.add_scores {
                r.fields.push(("__score".into(), Val::Num(h.score)));
            }
            r
        })
        .collect();
    let (rows, total) = run_steps(ctx, rows, &plan.steps, &path_of)?;
    match plan.cursor {
        None => write_rows(ctx.reply, total, &rows),
        Some((count, idle)) => {
            let mut cursors = ctx.server.search.cursors.lock();
            let id = cursors.add(Cursor {
                index: name,
                rows: rows.into(),
                total,
                count,
                max_idle: Duration::from_millis(idle),
                last_use: Instant::now(),
            });
            read_cursor(ctx.reply, &mut cursors, id, None)?;
        }
    }
    Ok(())
}

/// FT.CURSOR READ index id [COUNT n] | DEL index id
pub fn ft_cursor(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let sub = args.get(1);
    if args.len() < 4 {
        return Err(CmdError::WrongArity("ft.cursor".into()));
    }
    let index = text(args.get(2));
    let id: u64 = std::str::from_utf8(args.get(3))
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| search_err("Bad cursor ID"))?;
    let mut cursors = ctx.server.search.cursors.lock();
    cursors.expire_idle();
    if cursors.open.get(&id).is_some_and(|c| c.index != index) {
        return Err(search_err("Cursor not found"));
    }
    if eq_ic(sub, "READ") {
        let mut count = None;
        if args.len() >= 6 && eq_ic(args.get(4), "COUNT") {
            count = Some(usize_arg(&args, 5, "COUNT")?.max(1));
        }
        read_cursor(ctx.reply, &mut cursors, id, count)
    } else if eq_ic(sub, "DEL") {
        if cursors.open.remove(&id).is_none() {
            return Err(search_err("Cursor does not exist"));
        }
        ctx.reply.ok();
        Ok(())
    } else if eq_ic(sub, "GC") {
        ctx.reply.int(0);
        Ok(())
    } else {
        Err(search_err(format!("Unknown subcommand `{}`", text(sub))))
    }
}
