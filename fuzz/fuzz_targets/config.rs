//! The configuration loader (`config::load_from`, which `config::load` runs on the folder's
//! files and the environment): the input is TOML text, read once on top of the shipped
//! configuration (so that it changes a valid whole, key by key) and once alone.
//!
//! The loader never panics, and a configuration it refuses always comes with its problems,
//! each naming where it is.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use borgertun::config::load_from;
use figment::providers::{Format, Toml};
use figment::Figment;
use libfuzzer_sys::fuzz_target;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");

/// The shipped files' text, in the loader's order (by name).
fn shipped() -> &'static [String] {
    static FILES: OnceLock<Vec<String>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut paths: Vec<_> = std::fs::read_dir(DIR)
            .expect("the config folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("a config file"))
            .collect()
    })
}

fn check(fig: Figment, text: &str) {
    if let Err(e) = load_from(Path::new(DIR), fig) {
        assert!(!e.0.is_empty(), "{text:?}: refused without a reason");
        for m in &e.0 {
            assert!(m.contains(": "), "{text:?}: a problem without its place: {m:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut fig = Figment::new();
    for file in shipped() {
        fig = fig.merge(Toml::string(file));
    }
    check(fig.merge(Toml::string(text)), text);
    check(Figment::new().merge(Toml::string(text)), text);
});
