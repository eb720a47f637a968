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
pub fn parse_config(text: &[u8]) -> Result<Spec, (String, String)> {
    let mut de = serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = match e.path().to_string() {
            p if p == "." => "config".to_string(),
            p => p,
        };
        (field, e.inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_that_failed() {
        let text = br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},
            "capabilities":{"bounding":["CAP_NOPE"]}}}"#;
        let (field, msg) = parse_config(text).expect_err("must fail");
        assert_eq!(field, "process.capabilities.bounding[0]");
        assert!(msg.to_lowercase().contains("cap_nope"), "{msg}");
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
