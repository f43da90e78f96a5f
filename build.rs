//! Generates one `#[test]` per scenario file (tests/harness/main.rs includes
//! them), so `cargo test` names the failing file, and a new file is a new
//! test without editing any code.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenarios = root.join("scenarios");
    println!("cargo:rerun-if-changed=scenarios");
    let mut files = Vec::new();
    collect(&scenarios, &mut files);
    files.sort();
    // Everything in `mod scenarios`, calling `crate::check_scenario`, so
    // that no scenario's name can shadow the helper.
    let mut out = String::from("mod scenarios {\n");
    let mut open: Vec<String> = Vec::new();
    let mut seen: std::collections::BTreeMap<String, PathBuf> = Default::default();
    for file in &files {
        let relative = file.strip_prefix(root).unwrap_or(file);
        let inside = file.strip_prefix(&scenarios).unwrap_or(file);
        let folders: Vec<String> = inside
            .parent()
            .map(|p| p.iter().map(|c| ident(&c.to_string_lossy())).collect())
            .unwrap_or_default();
        let common = open
            .iter()
            .zip(&folders)
            .take_while(|(a, b)| a == b)
            .count();
        while open.len() > common {
            open.pop();
            out.push_str("}\n");
        }
        for folder in &folders[common..] {
            let _ = writeln!(out, "mod {folder} {{");
            open.push(folder.clone());
        }
        let stem = file
            .file_stem()
            .map_or(String::new(), |s| s.to_string_lossy().into_owned());
        let test = format!("{}::{}", folders.join("::"), ident(&stem));
        if let Some(other) = seen.insert(test.clone(), file.clone()) {
            panic!(
                "{} and {} would be the same test `{test}`: rename one (names are kebab-case)",
                other.display(),
                file.display()
            );
        }
        let _ = writeln!(
            out,
            "#[test]\nfn {}() {{ crate::check_scenario({:?}); }}",
            ident(&stem),
            relative.to_string_lossy()
        );
    }
    for _ in &open {
        out.push_str("}\n");
    }
    out.push_str("}\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("scenario_tests.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
}

/// A Rust identifier for a file or folder name: `api-key` → `api_key`,
/// `1m` → `_1m`.
fn ident(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) || is_keyword(&id) {
        id.insert(0, '_');
    }
    id
}

fn is_keyword(id: &str) -> bool {
    matches!(
        id,
        "as" | "break"
            | "const"
            | "continue"
            | "crate"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
    )
}
