//! Placeholder: being built (issue 5).

use super::{ConstructOptions, Construction, SizePoint};
use crate::error::InputError;

pub fn dyck(_opts: &ConstructOptions) -> Result<Construction, InputError> {
    Err(InputError::new("construct dyck-rnn: not built yet"))
}

pub fn index(_opts: &ConstructOptions) -> Result<Construction, InputError> {
    Err(InputError::new("construct index-rnn: not built yet"))
}

pub fn dyck_smallest(_opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    Err(InputError::new("construct dyck-rnn: not built yet"))
}

pub fn index_smallest(_opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    Err(InputError::new("construct index-rnn: not built yet"))
}
