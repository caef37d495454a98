//! Nothing to test here: see tests/. With the feature `broken` the crate does not compile.

#[cfg(feature = "broken")]
compile_error!("the feature `broken` makes this crate fail to build on purpose");

/// Registers `cb` to run when the process exits (C `atexit`).
pub fn at_exit(cb: extern "C" fn()) {
    extern "C" {
        fn atexit(cb: extern "C" fn()) -> i32;
    }
    // SAFETY: `cb` is a plain function without arguments that lives for the whole process.
    let rc = unsafe { atexit(cb) };
    assert_eq!(rc, 0, "atexit failed");
}
