//! Transactions: operations, conditions, mutations and results
//! (RFC 7047 §5.1–§5.2, §4.1.3).

mod condition;
mod mutation;
mod operation;
mod parse;
mod result;

pub use condition::{Condition, Function};
pub use mutation::{Mutation, Mutator};
pub use operation::{Operation, WaitUntil, transact_params};
pub use result::{OperationResult, TransactResponse, TransactionError};
