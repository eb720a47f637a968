//! Read config.json from a bundle. serde_path_to_error names the field that
//! failed to parse; unknown fields are ignored, as runc ignores them.

use std::path::Path;

use oci_spec::runtime::Spec;

use super::SpecError;
use crate::error::io_text;

pub fn load_config(bundle: &Path) -> Result<Spec, SpecError> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path).map_err(|e| SpecError::Read {
        path: path.display().to_string(),
        cause: io_text(&e),
    })?;
    parse_config(&text).map_err(|(field, message)| SpecError::Parse {
        path: path.display().to_string(),
        field,
        message,
    })
}

/// Parse config.json text; on failure return the JSON path and the problem.
/// Capability names this rrun does not know are dropped with a warning, as
/// the spec requires ("cannot be mapped to a relevant kernel interface").
pub fn parse_config(text: &[u8]) -> Result<Spec, (String, String)> {
    let mut de = serde_json::Deserializer::from_slice(text);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(spec) => Ok(spec),
        Err(e) if e.path().to_string().starts_with("process.capabilities") => {
            let mut v: serde_json::Value =
                serde_json::from_slice(text).map_err(|e| ("config".to_string(), e.to_string()))?;
            drop_unknown_caps(&mut v["process"]["capabilities"]);
            from_value(v)
        }
        Err(e) => Err(describe(e)),
    }
}

fn describe(e: serde_path_to_error::Error<serde_json::Error>) -> (String, String) {
    let field = match e.path().to_string() {
        p if p == "." => "config".to_string(),
        p => p,
    };
    (field, e.inner().to_string())
}

fn from_value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let field = e.path().to_string();
        (field, e.inner().to_string())
    })
}

/// Remove (and warn about) capability names that are not known.
pub fn drop_unknown_caps(caps: &mut serde_json::Value) {
    let Some(sets) = caps.as_object_mut() else {
        return;
    };
    for (set, list) in sets.iter_mut() {
        let Some(list) = list.as_array_mut() else {
            continue;
        };
        list.retain(|c| {
            let known = c
                .as_str()
                .is_some_and(|n| crate::caps::parse_name(n).is_some());
            if !known {
                crate::logging::warn(&format!(
                    "process.capabilities.{set}: unknown capability {c} is ignored"
                ));
            }
            known
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_that_failed() {
        let text = br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":"x","gid":0}}}"#;
        let (field, _) = parse_config(text).expect_err("must fail");
        assert_eq!(field, "process.user.uid");
    }

    #[test]
    fn unknown_capabilities_are_dropped() {
        let text = br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},
            "capabilities":{"bounding":["CAP_NOPE","CAP_KILL"]}}}"#;
        let spec = parse_config(text).expect("parses");
        let caps = spec
            .process()
            .as_ref()
            .and_then(|p| p.capabilities().clone())
            .expect("caps");
        assert_eq!(caps.bounding().as_ref().map(|b| b.len()), Some(1));
    }

    #[test]
    fn ignores_unknown_fields_and_newer_versions() {
        let text = br#"{"ociVersion":"1.9.0","whatever":{"x":1},"root":{"path":"rootfs"}}"#;
        let spec = parse_config(text).expect("parses");
        assert_eq!(spec.version(), "1.9.0");
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(parse_config(b"{not json").is_err());
    }
}
