//! The test passes and the harness prints "test result: ok", then the process is killed by
//! SIGSEGV while it exits (a write to an unmapped address): counted 1 passed and 1 failed.

extern "C" fn segfault() {
    // An address in the never-mapped first page (not null: that would be a debug-build panic).
    let unmapped = 0x10 as *mut u8;
    // SAFETY: none; this crashes the process on purpose.
    unsafe { std::ptr::write_volatile(unmapped, 1) }
}

#[test]
fn passes_then_the_process_crashes_at_exit() {
    imapmail_selftest::at_exit(segfault);
}
