//! Saving attachments to disk under safe file names.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::{Error, Result};

/// Longest file name produced (in bytes), well under every file system's limit.
const MAX_NAME_BYTES: usize = 200;

/// Turns an attachment name from a message (hostile input) into a plain file name: no path
/// separators, no `..`, no control characters, no characters Windows forbids, no reserved
/// Windows device names, no trailing dots or blanks, never empty.
pub fn sanitize_file_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    out = out
        .trim()
        .trim_end_matches(['.', ' '])
        .trim_start_matches('.')
        .to_string();
    if out.is_empty() {
        out = "attachment".to_string();
    }
    let stem = out
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_uppercase();
    const RESERVED: [&str; 22] = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    if RESERVED.contains(&stem.as_str()) {
        out.insert(0, '_');
    }
    if out.len() > MAX_NAME_BYTES {
        // Keep the extension when cutting.
        let ext = out
            .rsplit_once('.')
            .map(|(_, e)| e.to_string())
            .filter(|e| e.len() <= 16);
        let keep = MAX_NAME_BYTES - ext.as_ref().map_or(0, |e| e.len() + 1);
        let mut cut = keep;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        if let Some(e) = ext {
            out.push('.');
            out.push_str(&e);
        }
    }
    out
}

/// Writes `data` into `dir` under the sanitized `name`, never overwriting: when the name is
/// taken, " (1)", " (2)", ... is added before the extension. Returns the path written.
pub fn save_new_file(dir: &Path, name: &str, data: &[u8]) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::NotFound(format!(
            "directory {} does not exist",
            dir.display()
        )));
    }
    let base = sanitize_file_name(name);
    let (stem, ext) = match base.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (base.clone(), String::new()),
    };
    for n in 0..10_000u32 {
        let candidate = if n == 0 {
            base.clone()
        } else {
            format!("{stem} ({n}){ext}")
        };
        let path = dir.join(&candidate);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                return f
                    .write_all(data)
                    .and_then(|_| f.flush())
                    .map(|_| path.clone())
                    .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::Io(format!("cannot create {}: {e}", path.display()))),
        }
    }
    Err(Error::Io(format!(
        "too many files named like {base} in {}",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_made_safe() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(sanitize_file_name(".."), "attachment");
        assert_eq!(sanitize_file_name(""), "attachment");
        assert_eq!(sanitize_file_name("CON.txt"), "_CON.txt");
        assert_eq!(sanitize_file_name("con"), "_con");
        assert_eq!(sanitize_file_name("a\u{7}b/c"), "a_b_c");
        assert_eq!(sanitize_file_name("C:\\x\\y.doc"), "C__x_y.doc");
        assert_eq!(sanitize_file_name("report. "), "report");
        assert_eq!(sanitize_file_name("Résumé.pdf"), "Résumé.pdf");
        let long = format!("{}.pdf", "é".repeat(300));
        let s = sanitize_file_name(&long);
        assert!(s.len() <= MAX_NAME_BYTES && s.ends_with(".pdf"));
    }

    #[test]
    fn never_overwrites() {
        let dir = std::env::temp_dir().join(format!("imapmail-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = save_new_file(&dir, "x.txt", b"1").unwrap();
        let b = save_new_file(&dir, "x.txt", b"2").unwrap();
        assert_ne!(a, b);
        assert_eq!(b.file_name().unwrap(), "x (1).txt");
        assert_eq!(std::fs::read(&a).unwrap(), b"1");
        assert_eq!(std::fs::read(&b).unwrap(), b"2");
        assert!(matches!(
            save_new_file(&dir.join("missing"), "x", b""),
            Err(Error::NotFound(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
