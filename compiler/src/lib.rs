//! psctl: the compiler and linter for process-monitoring descriptions and legacy pfiles.
//!
//! Always built: the model, the pfile front-end, the shared rules and diagnostics (all that the
//! runtime needs). With the `descriptions` feature: YAML/TOML front-ends and schema validation.
//! See ARCHITECTURE.md for how data flows.

#[cfg(feature = "apply")]
pub mod apply;
#[cfg(feature = "cli")]
pub mod cli;
pub mod diagnostics;
pub mod model;
pub mod pfile;
pub mod rules;
pub mod span;
