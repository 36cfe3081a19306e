//! Everything that knows Antrea: its observation vocabulary and rules (and, with the artifact
//! readers, its tables, registers and port roles).

pub mod observation;
pub mod observe;
