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
