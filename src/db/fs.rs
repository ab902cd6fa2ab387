//! Start-up safety: SQLite relies on POSIX locks and (in WAL mode) shared memory, which network
//! and FUSE filesystems often implement badly or not at all; the result is silent corruption
//! under concurrent access. We cannot fix that, but we can say so loudly at start.

use std::path::{Path, PathBuf};

/// Filesystem types whose locking SQLite cannot trust. `fuse.*` covers sshfs, s3fs, rclone…;
/// `fuseblk` (local disks such as ntfs-3g) is not in the list.
const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "smb2",
    "ncpfs",
    "9p",
    "ceph",
    "glusterfs",
    "lustre",
    "afs",
    "gfs2",
    "ocfs2",
    "beegfs",
    "orangefs",
    "davfs",
    "vboxsf",
    "vmhgfs",
    "fuse",
];

/// Whether `fstype` is a network (or FUSE) filesystem.
pub fn is_network_fs(fstype: &str) -> bool {
    NETWORK_FS.contains(&fstype) || fstype.starts_with("fuse.")
}

/// A mount: where it is and its filesystem type.
#[derive(Debug, PartialEq, Eq)]
pub struct Mount {
    pub point: PathBuf,
    pub fstype: String,
}

/// Reads one line of `/proc/self/mountinfo` (mount point is field 5, the type follows the `-`
/// separator) or of `/proc/mounts` (fields 2 and 3).
fn parse_line(line: &str) -> Option<Mount> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (point, fstype) = match fields.iter().position(|f| *f == "-") {
        Some(sep) if sep >= 6 => (fields.get(4)?, fields.get(sep + 1)?),
        _ => (fields.get(1)?, fields.get(2)?),
    };
    Some(Mount { point: PathBuf::from(unescape(point)), fstype: (*fstype).to_owned() })
}

/// The kernel writes space, tab, newline and backslash in mount points as `\ooo` octal.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4).and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(char::from(c));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The mount holding `path`: the longest mount point that is a prefix of it (whole path
/// components). Of equal mount points the last listed wins, as it is mounted on top.
pub fn mount_of(mounts: &str, path: &Path) -> Option<Mount> {
    let mut best: Option<Mount> = None;
    for mount in mounts.lines().filter_map(parse_line) {
        let longer = best.as_ref().is_none_or(|b| mount.point.components().count() >= b.point.components().count());
        if path.starts_with(&mount.point) && longer {
            best = Some(mount);
        }
    }
    best
}

/// The nearest existing ancestor of the database's directory, resolved (symlinks followed),
/// because the directory itself may only be created later.
fn existing_dir(database: &Path) -> Option<PathBuf> {
    let dir = match database.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    dir.ancestors().find_map(|d| d.canonicalize().ok())
}

/// Logs a warning when the database would live on a network filesystem. Silent where
/// `/proc` is unavailable (not Linux): this is advice, not a check that can fail start-up.
pub fn warn_if_network_fs(database: &Path) {
    let Some(dir) = existing_dir(database) else {
        return;
    };
    let Some(mounts) = ["/proc/self/mountinfo", "/proc/mounts"].iter().find_map(|f| std::fs::read_to_string(f).ok())
    else {
        return;
    };
    match mount_of(&mounts, &dir) {
        Some(m) if is_network_fs(&m.fstype) => tracing::warn!(
            "the database directory {} is on a {} filesystem (mounted at {}): SQLite's locking and WAL mode are unreliable there and the database can be corrupted; keep {} on a local disk",
            dir.display(),
            m.fstype,
            m.point.display(),
            database.display()
        ),
        Some(m) => tracing::debug!("database directory {} is on {}", dir.display(), m.fstype),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 27 0:50 / /srv rw,relatime shared:20 - nfs4 nas:/export rw,vers=4.2
41 40 8:1 / /srv/local rw master:3 - xfs /dev/sdb1 rw
42 27 0:51 / /mnt/my\\040share rw - cifs //host/share rw
43 27 0:52 / /home/me/remote rw,nosuid - fuse.sshfs me@host:/ rw
44 27 0:53 / /srvx rw - tmpfs tmpfs rw
45 27 0:54 / /srv rw - 9p hostshare rw
";

    fn fs_of(path: &str) -> Option<String> {
        mount_of(MOUNTINFO, Path::new(path)).map(|m| m.fstype)
    }

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(fs_of("/var/lib/kacky").as_deref(), Some("ext4"));
        assert_eq!(fs_of("/srv/local/kacky").as_deref(), Some("xfs"));
        assert_eq!(fs_of("/srvx/data").as_deref(), Some("tmpfs"));
        assert_eq!(fs_of("/mnt/my share/db").as_deref(), Some("cifs"));
        assert_eq!(fs_of("/home/me/remote/x").as_deref(), Some("fuse.sshfs"));
    }

    #[test]
    fn later_mount_on_the_same_point_wins() {
        assert_eq!(fs_of("/srv/data").as_deref(), Some("9p"));
    }

    #[test]
    fn proc_mounts_format_and_types() {
        let mounts = "/dev/vda / ext4 rw 0 0\nnas:/e /data nfs rw 0 0\n";
        let m = mount_of(mounts, Path::new("/data/kacky")).unwrap();
        assert_eq!((m.point, m.fstype.as_str()), (PathBuf::from("/data"), "nfs"));
        assert!(is_network_fs("nfs4") && is_network_fs("fuse.s3fs") && is_network_fs("cifs"));
        assert!(!is_network_fs("ext4") && !is_network_fs("fuseblk") && !is_network_fs("tmpfs"));
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("/a\\040b\\134c\\x"), "/a b\\c\\x");
    }
}
