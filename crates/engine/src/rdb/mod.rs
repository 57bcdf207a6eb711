//! Values in Redis's RDB serialisation, as DUMP produces and RESTORE
//! consumes them.
//!
//! A DUMP payload is one serialised value (a type byte, then the value),
//! followed by a two-byte RDB version and a CRC-64 (the "Jones" polynomial
//! Redis uses, little-endian) of everything before it. Writing the same
//! format as Redis means payloads move both ways: `DUMP` on Redis and
//! `RESTORE` on Quiver (migration tools do exactly this), and back.
//!
//! What Quiver writes is the simplest form Redis loads for each type:
//! strings (integers in their compact forms), and plain lists, sets,
//! hashes and sorted sets (length, then elements) rather than Redis's
//! listpack blobs; Redis converts to its compact encodings on load, as
//! Quiver does. The RDB version written is the oldest that has the types
//! used: 10 (Redis 7.0) unless a hash has field TTLs, which need Redis
//! 7.4's metadata hash type and version 12.
//!
//! What Quiver reads, besides its own output: everything Redis 7.x writes
//! for these types — LZF-compressed strings, intsets, listpacks (hashes,
//! sorted sets, sets) and quicklists of listpacks — plus the older plain
//! list and string-scored sorted set types. Ziplist-era encodings (Redis
//! before 7.0), streams, modules and Redis 7.4's listpack hashes with
//! field TTLs are refused as bad data.
//!
//! Payloads come from clients, so the reader bounds-checks every length
//! against the bytes actually present before allocating anything.

mod decode;
mod encode;
mod listpack;
mod lzf;

pub use decode::restore;
pub use encode::dump;

/// RDB type bytes (the first byte of a payload).
pub(crate) mod kind {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const SET_INTSET: u8 = 11;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const SET_LISTPACK: u8 = 20;
    pub const HASH_METADATA: u8 = 22;
}

/// RDB version of Redis 7.0, written when no newer type is needed.
pub const VERSION_7_0: u16 = 10;
/// RDB version of Redis 7.4 (hash field TTLs); the newest RESTORE accepts.
pub const VERSION_7_4: u16 = 12;

/// Why a payload was not accepted. RESTORE maps the first to Redis's
/// "DUMP payload version or checksum are wrong" and the rest to
/// "Bad data format".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdbError {
    #[error("DUMP payload version or checksum are wrong")]
    Footer,
    #[error("payload ends inside a value")]
    Truncated,
    #[error("unsupported RDB type {0}")]
    UnsupportedType(u8),
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("empty collection")]
    Empty,
    #[error("duplicate element")]
    Duplicate,
    #[error("JSON values have no RDB form in Quiver")]
    Json,
}

const CRC: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// Appends the version and checksum that end a DUMP payload.
fn seal(mut body: Vec<u8>, version: u16) -> Vec<u8> {
    body.extend_from_slice(&version.to_le_bytes());
    let crc = CRC.checksum(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

/// Checks the footer of a payload and returns the serialised value in
/// front of it.
fn unseal(payload: &[u8]) -> Result<&[u8], RdbError> {
    if payload.len() < 10 {
        return Err(RdbError::Footer);
    }
    let (body, crc) = payload.split_at(payload.len() - 8);
    let version = u16::from_le_bytes([body[body.len() - 2], body[body.len() - 1]]);
    if version > VERSION_7_4 {
        return Err(RdbError::Footer);
    }
    let mut want = [0u8; 8];
    want.copy_from_slice(crc);
    if CRC.checksum(body) != u64::from_le_bytes(want) {
        return Err(RdbError::Footer);
    }
    Ok(&body[..body.len() - 2])
}

#[cfg(test)]
mod tests;
