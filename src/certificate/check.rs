//! Independent checker (being written).
