//! Placeholder: being built (issue 5).

use super::{ConstructOptions, Construction, SizePoint};
use crate::error::InputError;

pub fn construct(_opts: &ConstructOptions) -> Result<Construction, InputError> {
    Err(InputError::new("construct index_lookup: not built yet"))
}

pub fn smallest(_opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    Err(InputError::new("construct index_lookup: not built yet"))
}
