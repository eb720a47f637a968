//! The tests, one per spec requirement (or per option, type or value where
//! the spec lists several). Each carries the spec's words as its doc and the
//! spec version that introduced what it checks: a runtime declaring an older
//! version gets `n/a` for it.

use crate::harness::{Ctx, Res};

pub mod cgroups;
pub mod config;
pub mod features;
pub mod hooks;
pub mod lifecycle;
pub mod linux;
pub mod mounts;
pub mod process;

pub struct Test {
    pub id: &'static str,
    /// Spec version that introduced the checked behaviour.
    pub since: &'static str,
    /// The spec's words (or what the test checks).
    pub doc: &'static str,
    pub f: fn(&Ctx) -> Res,
}

#[macro_export]
macro_rules! t {
    ($id:expr, $since:expr, $doc:expr, $f:expr) => {
        $crate::tests::Test {
            id: $id,
            since: $since,
            doc: $doc,
            f: $f,
        }
    };
}

pub fn all() -> Vec<Test> {
    let mut v = Vec::new();
    v.extend(lifecycle::tests());
    v.extend(hooks::tests());
    v.extend(config::tests());
    v.extend(process::tests());
    v.extend(mounts::tests());
    v.extend(linux::tests());
    v.extend(cgroups::tests());
    v.extend(features::tests());
    v
}
