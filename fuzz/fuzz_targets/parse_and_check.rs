//! Arbitrary bytes through the whole front end: when they are UTF-8, load
//! them as a spec (parse, resolve, lint) and format them; formatting must be
//! idempotent.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loaded = nines::model::load::load_text("fuzz.nines", text.to_string());
    let _ = nines::diagnostics::render_json(&loaded.diagnostics, &loaded.sources);
    if let Ok(formatted) = nines::syntax::format::format_source(text) {
        let again =
            nines::syntax::format::format_source(&formatted).expect("formatted text parses");
        assert_eq!(again, formatted, "fmt is idempotent");
    }
});
