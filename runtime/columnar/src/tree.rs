//! The tree layout of `quiver:transform@0.2.0`: every Arrow type, nested ones included,
//! crossing the plugin boundary as flat pre-order lists, because WIT has no recursive types.
//!
//! A type becomes a list of [`FieldNode`]s: each node is followed immediately by its
//! children ([`TypeNode::child_count`] of them), so a schema is its top-level fields' subtrees
//! one after the other ([`flatten_schema`], [`unflatten_fields`]). A column becomes one
//! [`NodeBuffers`] per type node, in the same order ([`encode_tree`], [`decode_tree`]); the
//! buffers of each node are those of the Arrow columnar format, normalised to start at row 0.
//!
//! | node | validity | offsets | values | its children's `len` |
//! |---|---|---|---|---|
//! | null | none | none | empty | - |
//! | boolean | bitmap | none | bitmap | - |
//! | fixed-width (ints, floats, temporal, intervals, decimals) | bitmap | none | `len` × width | - |
//! | fixed-size binary(n) | bitmap | none | `len` × n | - |
//! | utf8, binary (large: s64) | bitmap | `len + 1` s32 | bytes | - |
//! | list, map (large list: s64) | bitmap | `len + 1` s32 | empty | the last offset |
//! | fixed-size list(n) | bitmap | none | empty | `len` × n |
//! | struct | bitmap | none | empty | `len` (each child) |
//! | dictionary | bitmap of the keys | none | the keys | its own (the dictionary) |
//!
//! What crosses is untrusted in one direction (a plugin's output reaching the host), so
//! [`unflatten_fields`] and [`decode_tree`] bound the shape of what they accept ([`Limits`])
//! before they recurse or allocate, and never panic.

mod decode;
mod encode;
mod normalize;
mod schema;
#[cfg(test)]
mod tests;
mod wit_macro;

pub use decode::{OwnedNode, decode_tree};
pub use encode::{NodeBuffers, encode_tree, encode_tree_owned};
pub use normalize::{normalize, normalize_type};
pub use schema::{
    DICTIONARY_VALUES_NAME, FieldNode, IndexType, TypeNode, check_tree_type, flatten_field,
    flatten_schema, flatten_type, unflatten_fields,
};

/// Bounds on the shape of types received from the other side of the boundary.
///
/// A hostile plugin can describe a type with a list of nodes far cheaper to send than to
/// process (a list of lists ten thousand deep, a struct of a million fields). Every bound is
/// checked in a single pass over the nodes before anything recursive or anything sized by
/// the nodes runs, so a refusal costs time linear in the nodes looked at, never a stack
/// overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of nodes, a top-level column being depth 1. Default 64: real schemas
    /// rarely nest beyond ten levels, and [`decode_tree`] as well as arrow's own validation
    /// recurse once per level, so this also bounds their stack use. Keep it in the tens.
    pub max_depth: usize,
    /// Most nodes in one schema (every field at every level, dictionary values included),
    /// and so in one column. Default 4096: a schema that wide describes thousands of columns;
    /// raise it for very wide feature tables.
    pub max_nodes: usize,
    /// Most fields of one struct. Default 1024: checked on the struct node itself, before
    /// its children are read.
    pub max_struct_children: usize,
    /// Longest field name, and longest time-zone name of a timestamp, in bytes. Default 1024:
    /// far beyond any real name (IANA zone names are under 40 bytes), and small enough that
    /// the names of a full schema stay within a few megabytes.
    pub max_name_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_nodes: 4096,
            max_struct_children: 1024,
            max_name_len: 1024,
        }
    }
}
