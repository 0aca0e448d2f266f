//! sinopac-server (in progress).
