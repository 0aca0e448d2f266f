//! Integration tests against sinopac-sim.
