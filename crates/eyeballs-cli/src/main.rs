//! `eyeballs`: see a Happy Eyeballs race, simulate one, or give any program Happy Eyeballs.
//! The command is the library's (src/lib.rs), so that the fuzz targets reach its parts.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    eyeballs_cli::main()
}
