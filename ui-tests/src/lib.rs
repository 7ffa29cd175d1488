//! The trybuild tests of `pmcp-tasks-macros` live in `tests/`: one folder
//! per macro with `pass/` and `fail/` cases. `TRYBUILD=overwrite cargo test
//! -p pmcp-tasks-ui-tests` rewrites the expected `.stderr` files, which are
//! reviewed like code.
