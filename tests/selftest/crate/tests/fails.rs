//! One test passes and one fails normally (a panic): counted 1 passed, 1 failed.

#[test]
fn a_passes() {
    assert_eq!(1 + 1, 2);
}

#[test]
fn b_fails() {
    assert_eq!(1 + 1, 3, "this test fails on purpose");
}
