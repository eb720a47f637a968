//! The bundle's config.json: load it, check it, and lower it into a
//! `ContainerPlan` before any side effect. After `plan()` nothing takes `&Spec`.

pub mod default;
pub mod load;
pub mod plan;
pub mod validate;

pub use load::load_config;
pub use plan::{plan, ContainerPlan, PlanContext};

/// What is wrong with a bundle, naming the JSON field where there is one.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("read {path}: {cause}")]
    Read { path: String, cause: String },
    #[error("parse {path}: {field}: {message}")]
    Parse {
        path: String,
        field: String,
        message: String,
    },
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
}

impl SpecError {
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        SpecError::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// For the fuzz target (hack/fuzz): every pure step from config.json bytes
/// to lowered parts. It must never panic; errors are the expected outcome.
pub fn fuzz_config(data: &[u8]) {
    let Ok(spec) = load::parse_config(data) else {
        return;
    };
    let _ = validate::check(&spec);
    let linux = spec.linux().clone().unwrap_or_default();
    if let Some(p) = spec.process() {
        let _ = crate::process::plan::ProcessPlan::lower(p);
    }
    let _ =
        crate::namespaces::NamespacePlan::lower(linux.namespaces().as_deref().unwrap_or_default());
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let _ =
            crate::rootfs::options::lower_mount(i, m, std::path::Path::new("/nonexistent-bundle"));
    }
    if let Some(r) = linux.resources() {
        let _ = crate::cgroups::resources::ResourcesPlan::lower(r, true);
    }
    let _ = crate::hooks::HooksPlan::lower(spec.hooks().as_ref());
    let _ = crate::rootfs::dev::lower_devices(linux.devices().as_deref().unwrap_or_default(), true);
    let _ = crate::userns::IdMaps::lower(
        linux.uid_mappings().as_deref().unwrap_or_default(),
        linux.gid_mappings().as_deref().unwrap_or_default(),
        false,
    );
    let _ = plan::lower_personality(&linux);
    let _ = plan::lower_memory_policy(&linux);
    if let Some(s) = linux.seccomp() {
        // Compiling is slow: only profiles of a sane size.
        if s.syscalls().as_ref().map_or(0, Vec::len) < 64 {
            let _ = crate::seccomp::compile(s);
        }
    }
}
