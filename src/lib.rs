//! nines: a reliability-budget calculator and policy language.
//!
//! The pipeline, one module per stage:
//! text ─[`syntax`]→ AST ─[`model`]→ [`model::Model`] ─[`analysis`]→ numbers ─[`report`]→ output.
//!
//! ```no_run
//! let loaded = nines::load(&["specs/appengine.nines".into()]);
//! if let Some(model) = &loaded.model {
//!     println!("{} services", model.services.len());
//! }
//! ```

pub mod analysis;
pub mod codegen;
pub mod diagnostics;
pub mod explain;
pub mod fsutil;
pub mod lint;
pub mod model;
pub mod policy;
pub mod report;
pub mod simulate;
pub mod syntax;

pub use model::load::{load, Loaded};
