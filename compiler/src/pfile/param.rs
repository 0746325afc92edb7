//! PARAM lowering: one `KEY VALUE` line into a value for the model, by the key's descriptor
//! ([`crate::fields::PARAMS`]).

use std::sync::Arc;

use super::read::Reader;
use crate::diagnostics::Diagnostic;
use crate::fields::{Access, Param, Unit};
use crate::model::Service;
use crate::span::{SourceFile, Span};

/// A PARAM value read from a pfile, ready to be set into the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Number(u64),
    Text(String),
}

impl ParamValue {
    /// Sets this value of `param` into `svc`.
    pub fn apply(self, param: &Param, svc: &mut Service) {
        match (param.access, self) {
            (Access::Number { set, .. }, ParamValue::Number(n)) => set(svc, n),
            (Access::Text { set, .. }, ParamValue::Text(t)) => set(svc, t),
            // `lower_param` reads each key by its own access: the pairs always match.
            _ => {}
        }
    }
}

/// Reads the value of PARAM `param` at `value`: `None` (and a diagnostic) when it is not valid.
pub fn lower_param(
    src: &Arc<SourceFile>,
    param: &'static Param,
    value: Span,
) -> (Option<ParamValue>, Vec<Diagnostic>) {
    let mut r = Reader::new(src);
    let f = &param.field;
    let v = match param.access {
        Access::Number { .. } => {
            let range = f.range.clone().unwrap_or(0..=u64::MAX);
            r.bounded(value, f.pfile, range, f.unit == Unit::IpcKey)
                .map(ParamValue::Number)
        }
        // Paths are checked by the shared rules, which see every format.
        Access::Text { .. } => Some(ParamValue::Text(r.text(value).to_owned())),
    };
    match v {
        Some(v) => r.finish(v),
        None => (None, r.diags),
    }
}
