//! The test passes and the harness prints "test result: ok", then the process exits with
//! status 3 from an exit handler: counted 1 passed and 1 failed.

extern "C" fn exit_3() {
    extern "C" {
        fn _exit(status: i32) -> !;
    }
    // SAFETY: _exit ends the process at once; nothing runs after it.
    unsafe { _exit(3) }
}

#[test]
fn passes_then_the_process_exits_3() {
    imapmail_selftest::at_exit(exit_3);
}
