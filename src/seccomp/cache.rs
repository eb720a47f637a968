//! A cache of compiled seccomp programs (compiling Docker's profile for three
//! architectures takes libseccomp ~12 ms; loading a program costs the kernel
//! ~1 ms). Entries live in a root-owned 0700 directory under the state root,
//! are written atomically (tmp + rename), opened without following links,
//! and hold the full key (profile, libseccomp and rrun versions) and a
//! checksum: a corrupt or mismatching entry is recompiled, never trusted.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;

const MAGIC: &[u8; 8] = b"RRUNBPF1";

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The cache key: the profile as JSON, the native arch, libseccomp's and
/// rrun's versions.
pub fn key(s: &LinuxSeccomp) -> Vec<u8> {
    let mut k = serde_json::to_vec(s).unwrap_or_default();
    k.push(0);
    k.extend_from_slice(super::libseccomp_version().as_bytes());
    k.push(0);
    k.extend_from_slice(
        format!(
            "{}-{}-{}",
            std::env::consts::ARCH,
            crate::VERSION,
            crate::COMMIT
        )
        .as_bytes(),
    );
    k
}

fn entry_path(dir: &Path, key: &[u8]) -> PathBuf {
    dir.join(format!("{:016x}.bpf", fnv1a(key)))
}

/// The cache directory must be ours: a real directory, owned by us, not
/// writable by anyone else.
fn trusted(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| {
        m.is_dir() && m.uid() == nix::unistd::geteuid().as_raw() && m.mode() & 0o022 == 0
    })
}

pub fn load(dir: &Path, key: &[u8]) -> Option<Vec<u8>> {
    if !trusted(dir) {
        return None;
    }
    let path = entry_path(dir, key);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .ok()?;
    let mut data = Vec::new();
    f.read_to_end(&mut data).ok()?;
    match decode(&data, key) {
        Some(bpf) => Some(bpf),
        None => {
            let _ = std::fs::remove_file(&path);
            None
        }
    }
}

fn decode(data: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let body_len = data.len().checked_sub(8)?;
    let (body, sum) = data.split_at(body_len);
    if fnv1a(body).to_le_bytes() != sum || !body.starts_with(MAGIC) {
        return None;
    }
    let mut rest = &body[MAGIC.len()..];
    let mut take = |n: usize| -> Option<&[u8]> {
        let (a, b) = (rest.get(..n)?, rest.get(n..)?);
        rest = b;
        Some(a)
    };
    let klen = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    if take(klen)? != key {
        return None;
    }
    let blen = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let bpf = take(blen)?.to_vec();
    (bpf.len() % 8 == 0 && !bpf.is_empty()).then_some(bpf)
}

fn encode(key: &[u8], bpf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 16 + key.len() + bpf.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&(bpf.len() as u32).to_le_bytes());
    out.extend_from_slice(bpf);
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Store an entry; failures only cost a recompilation next time.
pub fn store(dir: &Path, key: &[u8], bpf: &[u8]) {
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    if !trusted(dir) {
        return;
    }
    let path = entry_path(dir, key);
    let tmp = dir.join(format!(
        ".{}.{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&encode(key, bpf)));
    if written.is_err() || std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let dir = std::env::temp_dir().join(format!("rrun-bpf-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let key = b"profile".to_vec();
        let bpf = vec![1u8; 16];
        store(&dir, &key, &bpf);
        assert_eq!(load(&dir, &key), Some(bpf.clone()));
        assert_eq!(load(&dir, b"other"), None, "another key misses");
        // Flip a byte: the entry is refused and removed.
        let path = entry_path(&dir, &key);
        let mut data = std::fs::read(&path).expect("entry");
        data[20] ^= 0xff;
        std::fs::write(&path, data).expect("write");
        assert_eq!(load(&dir, &key), None);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn untrusted_directory_is_ignored() {
        let dir = std::env::temp_dir().join(format!("rrun-bpf-open-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod");
        store(&dir, b"k", &[1u8; 8]);
        assert_eq!(load(&dir, b"k"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
