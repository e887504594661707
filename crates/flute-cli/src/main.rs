//! The `flute` command.
fn main() {}
