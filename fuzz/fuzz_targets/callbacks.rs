//! The BackendURL and ReturnURL parsers on arbitrary bodies: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sinopac_proto::{BackendNotification, ReturnNotification, is_backend_ack};

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = BackendNotification::from_json(data) {
        // A parsed notification must survive its own round trip.
        let again = BackendNotification::from_json(n.to_json().as_bytes());
        assert_eq!(again.ok(), Some(n));
    }
    if let Ok(r) = ReturnNotification::from_form(data) {
        let again = ReturnNotification::from_form(r.to_form().as_bytes());
        assert_eq!(again.ok(), Some(r));
    }
    let _ = is_backend_ack(data);
});
