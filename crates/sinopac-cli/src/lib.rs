//! sinopac-cli (in progress).
