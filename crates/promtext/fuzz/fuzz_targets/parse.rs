//! Any bytes, both modes: no panic, no hang, and the modes agree (strict succeeds exactly when
//! lenient finds nothing to skip, and then both yield the same samples).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rockscope_promtext::{Mode, Parser};

fuzz_target!(|data: &[u8]| {
    let mut lenient_ok = 0usize;
    let mut lenient_errors = 0usize;
    for item in Parser::new(data, Mode::Lenient) {
        match item {
            Ok(sample) => {
                lenient_ok += 1;
                for (name, value) in sample.labels() {
                    assert!(!name.is_empty());
                    let _ = value.len();
                }
            }
            Err(_) => lenient_errors += 1,
        }
    }
    let strict: Result<Vec<_>, _> = Parser::new(data, Mode::Strict).collect();
    match strict {
        Ok(samples) => {
            assert_eq!(lenient_errors, 0);
            assert_eq!(samples.len(), lenient_ok);
        }
        Err(_) => assert!(lenient_errors > 0),
    }
});
