//! The `rudder` binary: everything lives in the library; this only runs the CLI.

/// Counts the heap, so that a chart render cannot take more memory than its limit
/// (`--render-max-memory`; see `rudder::engine::limits`).
#[global_allocator]
static ALLOCATOR: rudder::engine::limits::RenderAllocator = rudder::engine::limits::RenderAllocator;

fn main() -> std::process::ExitCode {
    rudder::engine::limits::RenderAllocator::tune_system_allocator();
    rudder::cli::run()
}
