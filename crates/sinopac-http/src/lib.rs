//! sinopac-http (in progress).
