//! Argument vectors that borrow from the buffer they were parsed out of.
//!
//! A request's arguments are stored as `(start, end)` offsets into a data
//! buffer rather than as owned byte vectors: parsing a pipelined batch then
//! allocates nothing per request, and handlers see plain `&[u8]` slices.

use std::ops::Range;

/// Reusable storage for the argument offsets of one request.
///
/// Multibulk arguments point into the connection's read buffer; inline
/// commands (which may contain quotes and escapes) are unescaped into
/// `scratch` and point there instead.
#[derive(Debug, Default, Clone)]
pub struct ArgsBuf {
    pub(crate) ranges: Vec<Range<usize>>,
    pub(crate) scratch: Vec<u8>,
    pub(crate) inline: bool,
}

impl ArgsBuf {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn clear(&mut self) {
        self.ranges.clear();
        self.scratch.clear();
        self.inline = false;
    }

    /// A view of the arguments, given the buffer the request was parsed from.
    pub fn view<'a>(&'a self, read_buf: &'a [u8]) -> Args<'a> {
        let data = if self.inline {
            &self.scratch[..]
        } else {
            read_buf
        };
        Args {
            data,
            ranges: &self.ranges,
        }
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Builds an owned argument vector (used for queued and replayed commands).
    pub fn from_slices<I, T>(items: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut buf = ArgsBuf::default();
        buf.refill(items);
        buf
    }

    /// Replaces the contents with owned copies of `items`, keeping the
    /// allocations: a caller that builds many argument vectors (a script's
    /// `redis.call`s) reuses one buffer instead of allocating per call.
    pub fn refill<I, T>(&mut self, items: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.inline = true;
        self.ranges.clear();
        self.scratch.clear();
        for item in items {
            let start = self.scratch.len();
            self.scratch.extend_from_slice(item.as_ref());
            self.ranges.push(start..self.scratch.len());
        }
    }

    /// Copies a view into owned storage.
    pub fn to_owned_args(args: &Args<'_>) -> Self {
        Self::from_slices(args.iter())
    }

    /// The arguments of an owned (`from_slices`) vector.
    pub fn owned_view(&self) -> Args<'_> {
        Args {
            data: &self.scratch,
            ranges: &self.ranges,
        }
    }
}

/// The arguments of one request: `args.get(0)` is the command name.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    data: &'a [u8],
    ranges: &'a [Range<usize>],
}

impl<'a> Args<'a> {
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The `i`th argument. Callers check arity first, so out-of-range is a bug.
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        let r = &self.ranges[i];
        &self.data[r.start..r.end]
    }

    /// The `i`th argument, or `None` past the end.
    #[inline]
    pub fn try_get(&self, i: usize) -> Option<&'a [u8]> {
        self.ranges.get(i).map(|r| &self.data[r.start..r.end])
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let data = self.data;
        self.ranges.iter().map(move |r| &data[r.start..r.end])
    }

    /// The arguments from `from` on, as a new view.
    pub fn slice_from(&self, from: usize) -> Args<'a> {
        Args {
            data: self.data,
            ranges: &self.ranges[from.min(self.ranges.len())..],
        }
    }
}

impl std::fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|a| String::from_utf8_lossy(a).into_owned()))
            .finish()
    }
}
