//! Integration tests live in `tests/tests/`. The library holds what they
//! share with the long exploratory run: the whole-system simulator
//! ([`sim`]).

pub mod sim;
