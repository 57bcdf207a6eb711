//! The ACL LOG: recent denials and authentication failures, with similar
//! entries merged (count bumped) as Redis does within 60 seconds.

use parking_lot::Mutex;
use std::collections::VecDeque;

/// One ACL LOG entry. `object` never holds a secret: for failed AUTHs it is
/// `AUTH` (or the token failure reason), never the password or token.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub count: u64,
    /// `command`, `key`, `channel` or `auth`.
    pub reason: &'static str,
    /// `toplevel`, `multi` or `lua`.
    pub context: &'static str,
    pub object: String,
    pub username: String,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub client_info: String,
}

#[derive(Debug, Default)]
pub struct AclLog {
    pub entries: Mutex<VecDeque<LogEntry>>,
}

impl AclLog {
    /// Adds an entry, or bumps a matching one less than a minute old.
    pub fn push(&self, entry: LogEntry, max_len: usize) {
        let mut log = self.entries.lock();
        if let Some(pos) = log.iter().position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && e.object == entry.object
                && e.username == entry.username
                && entry.created_ms.saturating_sub(e.updated_ms) < 60_000
        }) {
            if let Some(mut e) = log.remove(pos) {
                e.count += 1;
                e.updated_ms = entry.created_ms;
                e.client_info = entry.client_info;
                log.push_front(e);
            }
            return;
        }
        log.push_front(entry);
        while log.len() > max_len {
            log.pop_back();
        }
    }

    pub fn reset(&self) {
        self.entries.lock().clear();
    }
}
