//! The command table, assembled from each family's rows, and the
//! case-insensitive lookup dispatch uses (no allocation per request).

use crate::spec::CommandSpec;
use hashbrown::HashMap;
use std::sync::OnceLock;

/// One registered command (or subcommand) and its stats index.
pub struct Registered {
    pub spec: &'static CommandSpec,
    pub id: usize,
    /// For containers (CONFIG, CLIENT, …): subcommand name → entry index.
    pub subs: Option<HashMap<&'static [u8], usize>>,
    pub parent: Option<usize>,
}

pub struct Registry {
    by_name: HashMap<&'static [u8], usize>,
    pub entries: Vec<Registered>,
}

/// Every family's table, in COMMAND's order.
fn families() -> Vec<&'static [CommandSpec]> {
    vec![
        crate::connection::COMMANDS,
        crate::strings::COMMANDS,
        crate::bits::COMMANDS,
        crate::keys::COMMANDS,
        crate::dump::COMMANDS,
        crate::server::COMMANDS,
        crate::info::COMMANDS,
        crate::config_cmd::COMMANDS,
        crate::introspection::COMMANDS,
        crate::slowlog::COMMANDS,
        crate::debug::COMMANDS,
        crate::memory::COMMANDS,
        crate::persistence::COMMANDS,
        crate::txn::COMMANDS,
        crate::hashes::COMMANDS,
        crate::lists::COMMANDS,
        crate::sets::COMMANDS,
        crate::sort::COMMANDS,
        crate::zsets::COMMANDS,
        crate::zset_ops::COMMANDS,
        crate::scripting::COMMANDS,
        crate::search::COMMANDS,
        crate::cluster::COMMANDS,
        crate::json::COMMANDS,
        crate::acl::command::COMMANDS,
        crate::pubsub::COMMANDS,
    ]
}

impl Registry {
    fn build() -> Registry {
        let mut reg = Registry {
            by_name: HashMap::new(),
            entries: Vec::new(),
        };
        for table in families() {
            for spec in table {
                let id = reg.entries.len();
                reg.entries.push(Registered {
                    spec,
                    id,
                    subs: None,
                    parent: None,
                });
                reg.by_name.insert(spec.name.as_bytes(), id);
                if !spec.subcommands.is_empty() {
                    let mut subs = HashMap::new();
                    for sub in spec.subcommands {
                        let sid = reg.entries.len();
                        reg.entries.push(Registered {
                            spec: sub,
                            id: sid,
                            subs: None,
                            parent: Some(id),
                        });
                        let short = sub.name.split_once('|').map(|(_, s)| s).unwrap_or(sub.name);
                        subs.insert(short.as_bytes(), sid);
                    }
                    reg.entries[id].subs = Some(subs);
                }
            }
        }
        reg
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Finds a top-level command by name, ignoring ASCII case.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<&Registered> {
        let mut buf = [0u8; 32];
        let lower = lowercase_into(name, &mut buf)?;
        self.by_name.get(lower).map(|&i| &self.entries[i])
    }

    /// Finds a subcommand of a container entry.
    pub fn lookup_sub(&self, parent: &Registered, name: &[u8]) -> Option<&Registered> {
        let mut buf = [0u8; 32];
        let lower = lowercase_into(name, &mut buf)?;
        parent.subs.as_ref()?.get(lower).map(|&i| &self.entries[i])
    }

    /// Top-level entries (COMMAND, COMMAND LIST).
    pub fn top_level(&self) -> impl Iterator<Item = &Registered> {
        self.entries.iter().filter(|e| e.parent.is_none())
    }
}

/// ASCII-lowercases `name` into `buf`; `None` if too long to be a command
/// name (the lookup then fails without allocating).
#[inline]
fn lowercase_into<'b>(name: &[u8], buf: &'b mut [u8; 32]) -> Option<&'b [u8]> {
    if name.len() > buf.len() {
        return None;
    }
    let out = &mut buf[..name.len()];
    for (o, b) in out.iter_mut().zip(name) {
        *o = b.to_ascii_lowercase();
    }
    Some(out)
}

/// The process-wide command table.
pub fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(Registry::build)
}
