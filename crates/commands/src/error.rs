//! Every error a command can reply with, worded exactly as Redis words it.
//!
//! Tests assert on these strings, and clients (redis-py, RedisVL) match on
//! prefixes such as `WRONGTYPE` and `NOAUTH`, so they live in one place.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CmdError {
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR index out of range")]
    IndexOutOfRange,
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(&'static str),
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    #[error("ERR bit offset is not an integer or out of range")]
    BitOffset,
    #[error("ERR bit is not an integer or out of range")]
    BitValue,
    #[error("ERR offset is out of range")]
    OffsetOutOfRange,
    #[error("ERR source and destination objects are the same")]
    SameObject,
    #[error("ERR invalid cursor")]
    InvalidCursor,
    /// An integer argument read as a C `int` (database indexes, …).
    #[error("ERR value is out of range, value must between -2147483648 and 2147483647")]
    IntOutOfRange,
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    #[error("WRONGPASS invalid username-password pair or user is disabled.")]
    WrongPass,
    #[error("ERR unknown subcommand '{sub}'. Try {cmd} HELP.")]
    UnknownSubcommand { cmd: String, sub: String },
    // --- hashes (HINCRBY…, HRANDFIELD, field TTLs, HGETEX/HSETEX)
    #[error("ERR hash value is not an integer")]
    HashNotInteger,
    #[error("ERR hash value is not a float")]
    HashNotFloat,
    #[error("ERR value is NaN or Infinity")]
    NanOrInfinityArg,
    #[error("ERR value is out of range")]
    ValueOutOfRange,
    /// `getRangeLongFromObjectOrReply` without a custom message.
    #[error("ERR value is out of range, value must between {0} and {1}")]
    OutOfRangeBetween(i64, i64),
    #[error("ERR Mandatory argument FIELDS is missing or not at the right position")]
    FieldsMissing,
    #[error("ERR The `numfields` parameter must match the number of arguments")]
    NumFieldsMismatch,
    #[error("ERR Number of fields must be a positive integer")]
    NumFieldsPositive,
    /// HEXPIRE's wording of [`CmdError::NumFieldsPositive`].
    #[error("ERR Parameter `numFields` should be greater than 0")]
    NumFieldsGreaterThanZero,
    #[error("ERR invalid number of fields")]
    InvalidNumFields,
    #[error("ERR invalid expire time, must be >= 0")]
    NegativeExpire,
    #[error("ERR missing expire time")]
    MissingExpire,
    #[error("ERR Only one of FXX or FNX arguments can be specified")]
    FxxFnx,
    #[error("ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified")]
    OneExpiryOption,
    #[error("ERR unknown argument: {0}")]
    UnknownArgument(String),
    // --- sets (SPOP, SINTERCARD) and SORT; lists/zsets share the wording
    /// `getPositiveLongFromObjectOrReply` (SPOP/LPOP counts, …).
    #[error("ERR value is out of range, must be positive")]
    MustBePositive,
    #[error("ERR numkeys should be greater than 0")]
    NumkeysNotPositive,
    #[error("ERR Number of keys can't be greater than number of args")]
    NumkeysTooLarge,
    #[error("ERR LIMIT can't be negative")]
    LimitNegative,
    #[error("ERR One or more scores can't be converted into double")]
    SortScoreNotDouble,
    /// A `denyoom` command while used memory is over `maxmemory` and
    /// eviction cannot free enough.
    #[error("OOM command not allowed when used memory > 'maxmemory'.")]
    Oom,
    #[error("ERR {0}")]
    Err(String),
    /// A complete error line with its own code (e.g. `EXECABORT …`).
    #[error("{0}")]
    Raw(String),
}

impl CmdError {
    pub fn err(msg: impl Into<String>) -> Self {
        CmdError::Err(msg.into())
    }
}

pub type CmdResult = Result<(), CmdError>;
