//! Hands messages to a server script's `add-messages` command: writes them into a spool
//! directory and calls the script once per chunk, in slice order (UIDs ascend in that order),
//! with `--seen` before each message `seen(i)` flags. Shared by the Dovecot harness
//! (tests/common) and the live matrix (tests/matrix/servers.rs).

use std::ffi::OsString;
use std::path::Path;

/// Writes `raws` below `spool` and calls `run` with `add-messages DIR USER FOLDER [--seen] FILE...`
/// for every `chunk` messages; removes the spool afterwards.
#[allow(clippy::too_many_arguments)]
pub fn add_messages(
    spool: &Path,
    chunk: usize,
    dir: &Path,
    user: &str,
    folder: &str,
    raws: &[Vec<u8>],
    seen: &dyn Fn(usize) -> bool,
    mut run: impl FnMut(&[OsString]),
) {
    if raws.is_empty() {
        return;
    }
    std::fs::create_dir_all(spool).unwrap_or_else(|e| panic!("mkdir {}: {e}", spool.display()));
    for (chunk_no, part) in raws.chunks(chunk).enumerate() {
        let mut args: Vec<OsString> = vec![
            "add-messages".into(),
            dir.as_os_str().to_owned(),
            user.into(),
            folder.into(),
        ];
        for (j, raw) in part.iter().enumerate() {
            let i = chunk_no * chunk + j;
            let path = spool.join(format!("{i:06}.eml"));
            std::fs::write(&path, raw).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            if seen(i) {
                args.push("--seen".into());
            }
            args.push(path.into());
        }
        run(&args);
    }
    let _ = std::fs::remove_dir_all(spool);
}
