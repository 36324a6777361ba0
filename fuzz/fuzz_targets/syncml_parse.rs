//! Arbitrary bytes into the SyncML codec. It must never panic, and whatever it accepts it must
//! write back to something that decodes to the same value:
//!
//! - a message: `parse(to_string(m)) == m` and `parse(to_string_pretty(m)) == m`;
//! - a fragment other than a wrapper list (whose wrapper name the model does not keep):
//!   `parse_fragment(fragment_to_string(f)) == f`.
//!
//! A panic here is a real finding: keep the input under
//! `crates/casement-syncml/testdata/fuzz-regressions/`.

#![no_main]

use casement_syncml::{
    Fragment, fragment_to_string, parse, parse_fragment, to_string, to_string_pretty,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = parse(data) {
        for (form, written) in [
            ("to_string", to_string(&message)),
            ("to_string_pretty", to_string_pretty(&message)),
        ] {
            match parse(written.as_bytes()) {
                Ok(again) => assert!(
                    again == message,
                    "{form}: the written message decodes to a different value\n\
                     written: {written}\nfirst: {message:?}\nagain: {again:?}"
                ),
                Err(err) => {
                    panic!("{form}: the written message is refused: {err}\nwritten: {written}")
                }
            }
        }
    }
    if let Ok(fragment) = parse_fragment(data) {
        if matches!(fragment, Fragment::List(_)) {
            return;
        }
        let written = fragment_to_string(&fragment);
        match parse_fragment(written.as_bytes()) {
            Ok(again) => assert!(
                again == fragment,
                "fragment_to_string: the written fragment decodes to a different value\n\
                 written: {written}\nfirst: {fragment:?}\nagain: {again:?}"
            ),
            Err(err) => {
                panic!(
                    "fragment_to_string: the written fragment is refused: {err}\nwritten: {written}"
                )
            }
        }
    }
});
