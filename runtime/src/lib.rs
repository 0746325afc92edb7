//! The pcheck/padmin runtime.
