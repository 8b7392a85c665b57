//! Link settings for the `rudder` binary: the functions a render runs are laid out side by
//! side (`build/symbol-order.txt`, written by `scripts/symbol-order`), so a run keeps less
//! of the binary resident. Only where rustc links with lld (x86_64 Linux, its default since
//! Rust 1.90); names the file lists that the build does not have are ignored.

fn main() {
    let order = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("build/symbol-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    let target = |key: &str| std::env::var(key).unwrap_or_default();
    let rust_lld = target("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && target("CARGO_CFG_TARGET_OS") == "linux"
        && target("CARGO_CFG_TARGET_ENV") == "gnu";
    if rust_lld && order.exists() {
        println!(
            "cargo:rustc-link-arg-bin=rudder=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=rudder=-Wl,--no-warn-symbol-ordering");
    }
}
