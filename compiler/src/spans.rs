//! Where every key and value of a description stands: the [`SpanTable`] the front-ends fill
//! and the schema mapping and semantic rules read. It sits below both `frontend` and `schema`
//! (which validates with it), so neither imports the other for it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

use crate::span::{SourceFile, Span};

/// Where every key and value of a document stands, as a tree of nodes found by JSON pointer
/// (`/processes/0/name`). A node stores its key once, never its full pointer: a long key
/// holding a long list would otherwise repeat the key in every item's pointer (quadratic
/// memory, found by fuzzing). Key names are interned (a document repeats a few dozen names),
/// list items are one `u32` each in their list's vector, and a lookup allocates nothing (the
/// semantic rules ask for spans of every field of every valid file). Offsets are `u32`:
/// inputs are capped at 16 MiB.
#[derive(Debug, Default, Clone)]
pub struct SpanTable {
    /// Value span per node.
    values: Vec<(u32, u32)>,
    /// Each distinct key name, once.
    names: HashMap<Box<str>, u32>,
    /// (parent, name) -> the first node with that key, and its key span.
    keys: HashMap<(NodeId, u32), (NodeId, Packed), Ids>,
    /// List node -> its items' nodes, in order.
    items: HashMap<NodeId, Vec<NodeId>, Ids>,
}

/// Hashing for keys made of node and name ids. Ids are numbered by the table, in order, not
/// chosen by the input, so a multiplicative hash spreads them without SipHash's cost (a
/// tenth of a check's time went to hashing).
type Ids = BuildHasherDefault<IdHasher>;

#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A node of a [`SpanTable`].
pub type NodeId = u32;

/// A span as two `u32` offsets.
type Packed = (u32, u32);

fn pack(s: Span) -> (u32, u32) {
    let c = |x: usize| x.min(u32::MAX as usize - 1) as u32;
    (c(s.start), c(s.end))
}

fn unpack(s: (u32, u32)) -> Span {
    Span::new(s.0 as usize, s.1 as usize)
}

/// A found node: its value span and, when a key names it, the key's span.
#[derive(Clone, Copy)]
struct Found {
    value: (u32, u32),
    key: Option<(u32, u32)>,
}

impl SpanTable {
    fn push(&mut self, value: Span) -> NodeId {
        self.values.push(pack(value));
        (self.values.len() - 1) as NodeId
    }

    /// Records the root (the whole document); it is node 0.
    pub fn root(&mut self, value: Span) -> NodeId {
        if self.values.is_empty() {
            self.push(value)
        } else {
            self.values[0] = pack(value);
            0
        }
    }

    /// Records the value of mapping key `key` under `parent`. A key given twice gets a node
    /// of its own that no pointer reaches (the first one stays what pointers name).
    pub fn key(&mut self, parent: NodeId, key: &str, key_span: Span, value: Span) -> NodeId {
        let id = self.push(value);
        let name = match self.names.get(key) {
            Some(&n) => n,
            None => {
                let n = self.names.len() as u32;
                self.names.insert(key.into(), n);
                n
            }
        };
        self.keys
            .entry((parent, name))
            .or_insert((id, pack(key_span)));
        id
    }

    /// The first node recorded for key `key` under `parent`, and its key span.
    pub fn first_key(&self, parent: NodeId, key: &str) -> Option<(NodeId, Span)> {
        let n = self.names.get(key)?;
        let &(id, k) = self.keys.get(&(parent, *n))?;
        Some((id, unpack(k)))
    }

    /// Makes room for the `n` items of list `list` (a front-end that knows a long list's
    /// length spares the copies of growing these vectors, which briefly double them).
    pub fn reserve_items(&mut self, list: NodeId, n: usize) {
        self.values.reserve(n);
        self.items.entry(list).or_default().reserve_exact(n);
    }

    /// Makes room for `total` items of list `list` shaped like its first, just recorded: a
    /// front-end that counts a long list's items ahead spares the copies of growing the table
    /// (its vectors and key map doubled, with old and new alive at once). A hint: the room is
    /// kept within what a text of `text_len` bytes can fill (a node takes 4 bytes of text at
    /// least, a key 8).
    pub fn expect_like_first(&mut self, list: NodeId, total: usize, text_len: usize) {
        let Some(&first) = self.items.get(&list).and_then(|v| v.first()) else {
            return;
        };
        let nodes = self.values.len() - first as usize;
        let more = total.saturating_sub(1);
        let values = more.saturating_mul(nodes).min(text_len / 4);
        let keys = more.saturating_mul(nodes - 1).min(text_len / 8);
        self.values.reserve_exact(values);
        self.keys.reserve(keys);
        self.items.entry(list).or_default().reserve_exact(more);
    }

    /// Records item `index` of the list `parent` (items come in order: `index` is the
    /// number of items recorded so far, or the item is not reachable by pointer).
    pub fn item(&mut self, parent: NodeId, index: usize, value: Span) -> NodeId {
        let id = self.push(value);
        let list = self.items.entry(parent).or_default();
        if list.len() == index {
            list.push(id);
        }
        id
    }

    /// Sets the value span of a node recorded before its end was known.
    pub fn set_value(&mut self, node: NodeId, value: Span) {
        if let Some(v) = self.values.get_mut(node as usize) {
            *v = pack(value);
        }
    }

    /// The child of `at` that pointer segment `seg` (unescaped) names.
    fn child(&self, at: NodeId, seg: &str) -> Option<(NodeId, Option<(u32, u32)>)> {
        let by_key = self
            .names
            .get(seg)
            .and_then(|&n| self.keys.get(&(at, n)))
            .map(|&(id, k)| (id, Some(k)));
        by_key.or_else(|| {
            let i: usize = seg.parse().ok()?;
            let id = *self.items.get(&at)?.get(i)?;
            Some((id, None))
        })
    }

    /// The node `pointer` names, or its nearest recorded ancestor; and whether it was exact.
    fn nearest(&self, pointer: &str) -> Option<(Found, bool)> {
        let mut at: NodeId = 0;
        let mut found = Found {
            value: *self.values.first()?,
            key: None,
        };
        for seg in pointer.split('/').skip(1) {
            let unescaped;
            let seg = if seg.contains('~') {
                unescaped = seg.replace("~1", "/").replace("~0", "~");
                unescaped.as_str()
            } else {
                seg
            };
            match self.child(at, seg) {
                Some((id, key)) => {
                    at = id;
                    found = Found {
                        value: self.values[id as usize],
                        key,
                    };
                }
                None => return Some((found, false)),
            }
        }
        Some((found, true))
    }

    /// Whether `pointer` names a recorded node.
    pub fn contains(&self, pointer: &str) -> bool {
        self.nearest(pointer).is_some_and(|(_, exact)| exact)
    }

    /// The span of the value at `pointer` (or the nearest ancestor's).
    pub fn value_span(&self, pointer: &str) -> Span {
        self.nearest(pointer)
            .map(|(n, _)| unpack(n.value))
            .unwrap_or_default()
    }

    /// The span of the key naming `pointer`, else its value's (array items have no key).
    pub fn key_span(&self, pointer: &str) -> Span {
        self.nearest(pointer)
            .map(|(n, _)| unpack(n.key.unwrap_or(n.value)))
            .unwrap_or_default()
    }
}

/// A [`SpanTable`] built when first asked for. Spans serve diagnostics only, and most files
/// have none: a valid YAML file is read once without recording spans, and read again for them
/// only if a rule (or a cross-file check, or planning the output) has something to say.
pub struct LazySpans {
    table: OnceLock<SpanTable>,
    later: Option<(Arc<SourceFile>, SpanReader)>,
}

/// Reads the span table of a source (a front-end's spans-only pass).
pub type SpanReader = fn(&Arc<SourceFile>) -> SpanTable;

impl LazySpans {
    /// A table already built.
    pub fn ready(table: SpanTable) -> LazySpans {
        LazySpans {
            table: OnceLock::from(table),
            later: None,
        }
    }

    /// A table `read` builds from `src` when first needed.
    pub fn later(src: Arc<SourceFile>, read: SpanReader) -> LazySpans {
        LazySpans {
            table: OnceLock::new(),
            later: Some((src, read)),
        }
    }

    /// The table, built now if it was not.
    pub fn get(&self) -> &SpanTable {
        self.table.get_or_init(|| match &self.later {
            Some((src, read)) => read(src),
            None => SpanTable::default(),
        })
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn escape_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}
