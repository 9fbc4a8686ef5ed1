//! What `served-peer` writes, for the tests that check it.

/// What the fork test's parent writes in segment A.
pub const FROM_PARENT: &[u8] = b"from parent";
/// What the fork test's child adds to A, at offset 64.
pub const CHILD_WAS_HERE: &[u8] = b"child was here";
/// What the fork test's child writes in segment B.
pub const MADE_BY_CHILD: &[u8] = b"made by the child";
