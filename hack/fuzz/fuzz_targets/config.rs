//! Fuzz config.json: loading, validation and every pure lowering step must
//! never panic, whatever the bytes; a malformed bundle is an error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rrun::spec::fuzz_config(data);
});
