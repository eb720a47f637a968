//! Read config.json from a bundle. serde_path_to_error names the field that
//! failed to parse; unknown fields are ignored, as runc ignores them.

use std::path::Path;

use oci_spec::runtime::Spec;

use super::SpecError;
use crate::error::io_text;

/// The bundle's config.json, parsed, and its text (kept in the state for
/// `exec`).
pub fn load_config(bundle: &Path) -> Result<(Spec, Vec<u8>), SpecError> {
    let path = bundle.join("config.json");
    let text = read(&path)?;
    let spec = parse_named(&path, &text, parse_config)?;
    Ok((spec, text))
}

/// A parse result: the value, or the JSON path that failed and why.
pub type Parsed<T> = Result<T, (String, String)>;

/// Read and parse a JSON file (config.json, exec's process.json), naming it
/// in errors.
pub fn load_file<T>(path: &Path, parse: fn(&[u8]) -> Parsed<T>) -> Result<T, SpecError> {
    parse_named(path, &read(path)?, parse)
}

fn read(path: &Path) -> Result<Vec<u8>, SpecError> {
    std::fs::read(path).map_err(|e| SpecError::Read {
        path: path.display().to_string(),
        cause: io_text(&e),
    })
}

/// Parse `text`, naming `path` (where it came from) in errors.
pub fn parse_named<T>(
    path: &Path,
    text: &[u8],
    parse: fn(&[u8]) -> Parsed<T>,
) -> Result<T, SpecError> {
    parse(text).map_err(|(field, message)| SpecError::Parse {
        path: path.display().to_string(),
        field,
        message,
    })
}

/// Parse config.json text; on failure return the JSON path and the problem.
/// Capability names this rrun does not know are dropped with a warning, as
/// the spec requires ("cannot be mapped to a relevant kernel interface").
pub fn parse_config(text: &[u8]) -> Result<Spec, (String, String)> {
    parse_dropping_unknown_caps(text, "process.capabilities", "/process/capabilities")
}

/// Parse exec's process.json the same way.
pub fn parse_process(text: &[u8]) -> Result<oci_spec::runtime::Process, (String, String)> {
    parse_dropping_unknown_caps(text, "capabilities", "/capabilities")
}

/// Deserialize `text`; if a capability list at `caps` (JSON pointer
/// `pointer`) fails, drop its unknown names and try again.
fn parse_dropping_unknown_caps<T: serde::de::DeserializeOwned>(
    text: &[u8],
    caps: &str,
    pointer: &str,
) -> Result<T, (String, String)> {
    let mut de = serde_json::Deserializer::from_slice(text);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => Ok(v),
        Err(e) if e.path().to_string().starts_with(caps) => {
            let mut v: serde_json::Value =
                serde_json::from_slice(text).map_err(|e| ("config".to_string(), e.to_string()))?;
            if let Some(sets) = v.pointer_mut(pointer) {
                drop_unknown_caps(sets);
            }
            serde_path_to_error::deserialize(v).map_err(describe)
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

/// Remove (and warn about) capability names that are not known.
fn drop_unknown_caps(caps: &mut serde_json::Value) {
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
