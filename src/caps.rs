//! Capabilities: names lowered to 64-bit masks in the parent (checked against
//! the host's bounding set, so a capability that cannot be granted is an error
//! naming it), applied in the child with prctl and one capset.

use std::str::FromStr;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use crate::spec::SpecError;
use crate::sys;

/// The five capability sets as bitmasks (bit n = capability number n).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapsPlan {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// The kernel number of an OCI capability.
pub fn number(cap: &Capability) -> Option<u8> {
    let name = format!("CAP_{cap}");
    caps::Capability::from_str(&name).ok().map(|c| c.index())
}

/// Parse a capability name as runc's CLI takes it ("CAP_NET_ADMIN"; the
/// "CAP_" prefix is optional, case does not matter).
pub fn parse_name(name: &str) -> Option<u8> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    caps::Capability::from_str(&full).ok().map(|c| c.index())
}

pub fn name_of(bit: u8) -> String {
    caps::all()
        .into_iter()
        .find(|c| c.index() == bit)
        .map(|c| c.to_string())
        .unwrap_or_else(|| format!("capability {bit}"))
}

impl CapsPlan {
    /// Lower process.capabilities; every capability must be in our bounding set.
    pub fn lower(caps: Option<&LinuxCapabilities>) -> Result<Self, SpecError> {
        let Some(caps) = caps else {
            return Ok(CapsPlan::default());
        };
        Ok(CapsPlan {
            bounding: mask("bounding", caps.bounding().as_ref())?,
            effective: mask("effective", caps.effective().as_ref())?,
            permitted: mask("permitted", caps.permitted().as_ref())?,
            inheritable: mask("inheritable", caps.inheritable().as_ref())?,
            ambient: mask("ambient", caps.ambient().as_ref())?,
        })
    }

    /// Drop from the bounding set every capability not asked for, up to the
    /// kernel's last one (where the drop says EINVAL). No procfs read: in
    /// the child, after pivot_root, /proc is the container's.
    pub fn apply_bounding(&self) -> Result<(), (String, nix::errno::Errno)> {
        for bit in 0..64u8 {
            // Dropping a capability the set lacks is a no-op, so read the
            // set only when a drop fails (without CAP_SETPCAP).
            if self.bounding & (1u64 << bit) != 0 {
                continue;
            }
            match sys::cap_drop_bounding(bit as u32) {
                Err(nix::errno::Errno::EINVAL) => break,
                Err(_) if !sys::cap_in_bounding(bit as u32) => {}
                r => r.map_err(|e| (format!("drop {} from the bounding set", name_of(bit)), e))?,
            }
        }
        Ok(())
    }

    /// Set effective, permitted and inheritable, then the ambient set.
    pub fn apply_sets(&self) -> Result<(), (String, nix::errno::Errno)> {
        sys::capset(self.effective, self.permitted, self.inheritable)
            .map_err(|e| ("apply capabilities".to_string(), e))?;
        sys::cap_ambient_clear().map_err(|e| ("clear ambient capabilities".to_string(), e))?;
        for bit in 0..64u8 {
            if self.ambient & (1u64 << bit) != 0 {
                sys::cap_ambient_raise(bit as u32)
                    .map_err(|e| (format!("raise ambient capability {}", name_of(bit)), e))?;
            }
        }
        Ok(())
    }
}

/// Is `bit` in rrun's own bounding set (CapBnd, one read for all the
/// checks of a plan; PR_CAPBSET_READ if /proc/self/status cannot be read)?
fn in_our_bounding_set(bit: u8) -> bool {
    match crate::proc_files::self_status_mask("CapBnd") {
        Some(set) => set & (1u64 << bit) != 0,
        None => sys::cap_in_bounding(bit as u32),
    }
}

fn mask(set: &str, caps: Option<&Capabilities>) -> Result<u64, SpecError> {
    let mut bits = 0u64;
    let mut names: Vec<&Capability> = caps.map(|c| c.iter().collect()).unwrap_or_default();
    names.sort_by_key(|c| number(c));
    for cap in names {
        let field = format!("process.capabilities.{set}");
        let bit = number(cap)
            .ok_or_else(|| SpecError::invalid(&field, format!("unknown capability CAP_{cap}")))?;
        if !in_our_bounding_set(bit) {
            // Absent from the bounding or inheritable set costs nothing: a
            // warning, as the spec asks. A process that must hold it
            // (effective, permitted, ambient) cannot run as configured.
            if set == "bounding" || set == "inheritable" {
                crate::logging::warn(&format!(
                    "{field}: CAP_{cap} is not in this host's capability bounding set: ignored"
                ));
                continue;
            }
            return Err(SpecError::invalid(
                field,
                format!(
                    "CAP_{cap} cannot be granted: it is not in this host's capability bounding set"
                ),
            ));
        }
        bits |= 1u64 << bit;
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        assert_eq!(parse_name("NET_ADMIN"), Some(12));
        assert_eq!(parse_name("cap_sys_admin"), Some(21));
        assert_eq!(parse_name("CAP_NOPE"), None);
        assert_eq!(name_of(12), "CAP_NET_ADMIN");
    }

    #[test]
    fn lowers_default_set() {
        let caps: LinuxCapabilities = serde_json::from_str(
            r#"{"bounding":["CAP_KILL","CAP_AUDIT_WRITE"],"effective":["CAP_KILL"]}"#,
        )
        .expect("valid json");
        let plan = CapsPlan::lower(Some(&caps)).expect("lowers");
        assert_eq!(plan.bounding, (1 << 5) | (1 << 29));
        assert_eq!(plan.effective, 1 << 5);
        assert_eq!(plan.ambient, 0);
    }
}
