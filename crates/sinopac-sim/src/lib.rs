//! sinopac-sim (in progress).
