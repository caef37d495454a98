//! Build script: gives the Linux shared library its SONAME.
//!
//! `libimapmail.so` is linked with `-soname libimapmail.so.<SOVERSION>`, so programs linked
//! against it record `libimapmail.so.0` and keep working across compatible updates (see
//! docs/packaging.md for the version policy). `cargo:rustc-cdylib-link-arg` applies to the
//! cdylib only (not to tests, examples or other crates) and, unlike rustflags in
//! .cargo/config.toml, is not dropped when RUSTFLAGS is set (sanitizer and coverage builds).

/// The ABI major version: bumped only when an export is removed or changes incompatibly
/// (scripts/abi-check reports it). Keep in sync with SOVERSION in the top-level Makefile.
const SOVERSION: &str = "0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "android"
    ) || (os == "solaris" && env != "msvc")
    {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libimapmail.so.{SOVERSION}");
        link_soname_in_profile_dir();
    }
}

/// Programs linked against target/<profile>/libimapmail.so record its SONAME
/// (libimapmail.so.0) and look for that name at run time: put a symlink to the library under
/// that name next to it, so `-L target/release -Wl,-rpath,target/release` keeps working
/// without `make install`. OUT_DIR is <target>/<profile>/build/imapmail-<hash>/out.
fn link_soname_in_profile_dir() {
    let Some(out) = std::env::var_os("OUT_DIR") else {
        return;
    };
    let Some(profile_dir) = std::path::Path::new(&out).ancestors().nth(3) else {
        return;
    };
    let link = profile_dir.join(format!("libimapmail.so.{SOVERSION}"));
    if std::fs::read_link(&link).is_ok_and(|t| t == std::path::Path::new("libimapmail.so")) {
        return;
    }
    let _ = std::fs::remove_file(&link);
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink("libimapmail.so", &link);
}
