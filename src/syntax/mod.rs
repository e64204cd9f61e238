//! Text → typed AST: the pest grammar's pairs, the nom quantity parser, and
//! the canonical formatter.

pub mod ast;

pub mod parser;
pub mod quantity;

pub mod format;
pub use parser::{parse, parse_expression};
