//! The second of three tests aborts the process (SIGABRT): the first was reported ok, the
//! third never runs, no "test result:" line is printed. Run with RUST_TEST_THREADS=1 (tests in
//! name order): counted 1 passed and at least 1 failed.

#[test]
fn a_passes() {
    assert_eq!(3 * 3, 9);
}

#[test]
fn b_aborts() {
    std::process::abort();
}

#[test]
fn c_never_runs() {}
