//! psctl: the compiler and linter for process-monitoring descriptions and legacy pfiles.
//!
//! Always built: the model, the pfile front-end, the shared rules and diagnostics (all that the
//! runtime needs). With the `descriptions` feature: YAML/TOML front-ends and schema validation.
//! See ARCHITECTURE.md for how data flows.

#[cfg(feature = "apply")]
pub mod apply;
#[cfg(feature = "apply")]
pub mod atomic;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "descriptions")]
pub mod description;
pub mod diagnostics;
pub mod duration;
#[cfg(feature = "apply")]
pub mod emit;
pub mod escape;
pub mod fields;
#[cfg(feature = "descriptions")]
pub mod frontend;
#[cfg(feature = "descriptions")]
pub mod input;
#[cfg(feature = "descriptions")]
pub mod loaded;
pub mod model;
#[cfg(feature = "descriptions")]
pub mod par;
pub mod pfile;
pub mod rules;
pub mod runtime_cli;
#[cfg(feature = "descriptions")]
pub mod schema;
pub mod span;
#[cfg(feature = "descriptions")]
pub mod spans;
pub mod suggestion;
#[cfg(test)]
mod testing;
pub mod trust;
