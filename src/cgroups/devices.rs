//! Device cgroup rules: linux.resources.devices lowered into typed rules, the
//! default allow list runc appends after the config's rules, and the v1
//! devices.allow / devices.deny lines.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::CgroupError;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceRule {
    pub allow: bool,
    /// 'a' (all), 'c' or 'b'.
    pub kind: char,
    /// None = any ("*"); Docker encodes a wildcard as -1.
    pub major: Option<i64>,
    pub minor: Option<i64>,
    /// Some of "rwm".
    pub access: String,
}

impl DeviceRule {
    pub fn lower(index: usize, d: &LinuxDeviceCgroup) -> Result<Self, CgroupError> {
        let field = format!("linux.resources.devices[{index}]");
        let kind = match d.typ() {
            None | Some(LinuxDeviceType::A) => 'a',
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
            Some(LinuxDeviceType::B) => 'b',
            Some(LinuxDeviceType::P) => {
                return Err(CgroupError::invalid(
                    format!("{field}.type"),
                    "fifo (p) is not a device cgroup type: use a, b or c",
                ))
            }
        };
        let access = d.access().clone().unwrap_or_else(|| "rwm".into());
        if access.is_empty() || !access.chars().all(|c| "rwm".contains(c)) {
            return Err(CgroupError::invalid(
                format!("{field}.access"),
                format!("{access:?} is not a combination of r, w and m"),
            ));
        }
        let wildcard = |v: Option<i64>| v.filter(|n| *n >= 0);
        Ok(DeviceRule {
            allow: d.allow(),
            kind,
            major: wildcard(d.major()),
            minor: wildcard(d.minor()),
            access,
        })
    }

    fn rule(allow: bool, kind: char, major: Option<i64>, minor: Option<i64>, access: &str) -> Self {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: access.into(),
        }
    }

    /// The text written to devices.allow or devices.deny.
    pub fn v1_line(&self) -> String {
        if self.kind == 'a'
            && self.major.is_none()
            && self.minor.is_none()
            && self.access.len() == 3
        {
            return "a".into();
        }
        let num = |v: Option<i64>| v.map_or("*".to_string(), |n| n.to_string());
        format!(
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.access
        )
    }

    pub fn v1_file(&self) -> &'static str {
        if self.allow {
            "devices.allow"
        } else {
            "devices.deny"
        }
    }
}

/// The devices every container may use, appended after the config's rules as
/// runc does (so a deny of one of them in the config does not take it away).
pub fn default_allow_rules() -> Vec<DeviceRule> {
    let c = |maj: i64, min: Option<i64>| DeviceRule::rule(true, 'c', Some(maj), min, "rwm");
    vec![
        DeviceRule::rule(true, 'c', None, None, "m"),
        DeviceRule::rule(true, 'b', None, None, "m"),
        c(1, Some(3)),    // /dev/null
        c(1, Some(8)),    // /dev/random
        c(1, Some(7)),    // /dev/full
        c(5, Some(0)),    // /dev/tty
        c(1, Some(5)),    // /dev/zero
        c(1, Some(9)),    // /dev/urandom
        c(136, None),     // /dev/pts/*
        c(5, Some(2)),    // /dev/ptmx
        c(10, Some(200)), // /dev/net/tun
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(json: &str) -> LinuxDeviceCgroup {
        serde_json::from_str(json).expect("valid device json")
    }

    #[test]
    fn v1_lines() {
        let deny_all = DeviceRule::lower(0, &dev(r#"{"allow":false,"access":"rwm"}"#)).expect("ok");
        assert_eq!(
            (deny_all.v1_file(), deny_all.v1_line().as_str()),
            ("devices.deny", "a")
        );
        let loop_r = DeviceRule::lower(
            0,
            &dev(r#"{"allow":true,"type":"b","major":7,"minor":-1,"access":"r"}"#),
        )
        .expect("ok");
        assert_eq!(loop_r.v1_line(), "b 7:* r");
    }

    #[test]
    fn rejects_bad_access_and_type() {
        assert!(DeviceRule::lower(0, &dev(r#"{"allow":true,"access":"rx"}"#)).is_err());
        assert!(DeviceRule::lower(0, &dev(r#"{"allow":true,"type":"p","access":"r"}"#)).is_err());
    }
}
