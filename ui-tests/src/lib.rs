//! Home of the trybuild tests of `pmcp-tasks-macros`: one folder per macro
//! with `pass/` and `fail/` cases. Empty until the macros land.
