//! A stand-in fuzz target that crashes on every input (SIGABRT), as libFuzzer does on a panic.
fn main() {
    if let Some(file) = std::env::args().nth(1) {
        println!("Running: {file}");
    }
    std::process::abort();
}
