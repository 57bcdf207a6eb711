//! Longest common subsequence for the LCS command.
//!
//! The classic O(n·m) dynamic programme. What makes it Redis-compatible is
//! the walk back through the table: which of several equally long
//! subsequences is reported, and how its matches are grouped into ranges,
//! depends on the tie-breaking. Redis steps towards the larger neighbour and,
//! on a tie, drops a byte of the *second* string; ranges are reported from
//! the end of the strings towards their start.

/// One run of consecutive matching bytes: inclusive positions in each
/// string, and the run length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub a: (usize, usize),
    pub b: (usize, usize),
    pub len: usize,
}

/// `cell(i, j)` = LCS length of `a[..i]` and `b[..j]`.
pub struct Table {
    cols: usize,
    cells: Vec<u32>,
    alen: usize,
    blen: usize,
}

impl Table {
    pub fn build(a: &[u8], b: &[u8]) -> Table {
        let cols = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * cols];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * cols + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * cols + j - 1] + 1
                } else {
                    cells[(i - 1) * cols + j].max(cells[i * cols + j - 1])
                };
            }
        }
        Table {
            cols,
            cells,
            alen: a.len(),
            blen: b.len(),
        }
    }

    #[inline]
    fn cell(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.cols + j]
    }

    /// Length of the longest common subsequence.
    pub fn len(&self) -> usize {
        self.cell(self.alen, self.blen) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Walks back from the end, calling `matched(i, j)` for each matching
    /// pair of positions, last match first.
    fn walk(&self, a: &[u8], b: &[u8], mut matched: impl FnMut(usize, usize)) {
        let (mut i, mut j) = (self.alen, self.blen);
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                matched(i - 1, j - 1);
                i -= 1;
                j -= 1;
            } else if self.cell(i - 1, j) > self.cell(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
        }
    }

    /// The subsequence itself.
    pub fn sequence(&self, a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; self.len()];
        let mut k = out.len();
        self.walk(a, b, |i, _| {
            k -= 1;
            out[k] = a[i];
        });
        out
    }

    /// Maximal runs of matches that are consecutive in both strings, in the
    /// order Redis reports them (from the end of the strings).
    pub fn ranges(&self, a: &[u8], b: &[u8]) -> Vec<Range> {
        let mut out: Vec<Range> = Vec::new();
        let mut cur: Option<Range> = None;
        self.walk(a, b, |i, j| match cur.as_mut() {
            Some(r) if r.a.0 == i + 1 && r.b.0 == j + 1 => {
                r.a.0 = i;
                r.b.0 = j;
                r.len += 1;
            }
            _ => {
                if let Some(r) = cur.take() {
                    out.push(r);
                }
                cur = Some(Range {
                    a: (i, i),
                    b: (j, j),
                    len: 1,
                });
            }
        });
        out.extend(cur);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_documentation_example() {
        let (a, b) = (b"ohmytext", b"mynewtext");
        let t = Table::build(a, b);
        assert_eq!(t.len(), 6);
        assert_eq!(t.sequence(a, b), b"mytext");
        // Redis: [[4,7],[5,8],4], [[2,3],[0,1],2]
        assert_eq!(
            t.ranges(a, b),
            vec![
                Range {
                    a: (4, 7),
                    b: (5, 8),
                    len: 4
                },
                Range {
                    a: (2, 3),
                    b: (0, 1),
                    len: 2
                },
            ]
        );
    }

    #[test]
    fn empty_and_disjoint() {
        let t = Table::build(b"", b"abc");
        assert!(t.is_empty());
        assert!(t.ranges(b"", b"abc").is_empty());
        let t = Table::build(b"aaa", b"bbb");
        assert_eq!(t.sequence(b"aaa", b"bbb"), b"");
    }

    #[test]
    fn ties_drop_from_the_second_string() {
        // "ab" vs "ba": "a" and "b" are both longest. At the end neither
        // neighbour is longer, so the walk drops b's last byte and then
        // matches 'b' (redis-server 7.0 answers "b" too).
        let (a, b) = (b"ab", b"ba");
        let t = Table::build(a, b);
        assert_eq!(t.len(), 1);
        assert_eq!(t.sequence(a, b), b"b");
    }
}
