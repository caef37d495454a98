//! Two tests that pass, and a clean exit: counted 2 passed, 0 failed.

#[test]
fn a_passes() {
    assert_eq!(2 + 2, 4);
}

#[test]
fn b_passes() {
    assert!("ok".starts_with('o'));
}
