//! The workspace's shape, checked: no module cycles (among a crate's
//! modules, and among the modules of each folder inside it), every module
//! in the layer its crate's docs give it and using only its own layer and
//! those below, and no function over [`LONG_FUNCTION`] lines without a comment
//! saying why (`// Long because …` above it). Test code is left out.
//!
//! Each crate (and the harness's `scenario` module and binary) states its
//! layering in one doc line of its module file:
//!
//! ```text
//! //! Layers, each using only those before it: vocabulary (`a`, `b`) → account (`c`) → …
//! ```
//!
//! `cargo test --test harness architecture -- --nocapture` prints the
//! figures: each unit's modules, edges and cycles, and the longest
//! functions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines a function may have (from `fn` to its closing brace) before it
/// needs a comment saying why it is one function.
const LONG_FUNCTION: usize = 60;

/// A module file whose child modules are checked as one graph, and how
/// its children name each other.
struct Unit {
    /// The module file: `lib.rs`, `main.rs`, or a `mod.rs`.
    file: &'static str,
    /// How a child names a sibling: `crate::` at a crate root,
    /// `super::` (and the full path) below it.
    prefixes: &'static [&'static str],
    /// Whether the module file states its layers (crate roots do; a
    /// folder inside a crate is only held to having no cycle).
    layered: bool,
}

const UNITS: &[Unit] = &[
    nested(
        "client/src/catalogue/mod.rs",
        &["crate::catalogue::", "super::"],
    ),
    nested("client/src/config/mod.rs", &["crate::config::", "super::"]),
    nested(
        "client/src/credentials/mod.rs",
        &["crate::credentials::", "super::"],
    ),
    nested(
        "client/src/request/mod.rs",
        &["crate::request::", "super::"],
    ),
    nested(
        "mock-server/src/errors/mod.rs",
        &["crate::errors::", "super::"],
    ),
    nested(
        "src/capture/import/mod.rs",
        &["crate::capture::import::", "super::"],
    ),
    nested("src/load/mod.rs", &["crate::load::", "super::"]),
    nested("src/report/mod.rs", &["crate::report::", "super::"]),
    Unit {
        file: "eventstream/src/lib.rs",
        prefixes: &["crate::"],
        layered: true,
    },
    Unit {
        file: "mock-server/src/lib.rs",
        prefixes: &["crate::"],
        layered: true,
    },
    Unit {
        file: "client/src/lib.rs",
        prefixes: &["crate::"],
        layered: true,
    },
    Unit {
        file: "src/lib.rs",
        prefixes: &["crate::"],
        layered: true,
    },
    Unit {
        file: "src/scenario/mod.rs",
        prefixes: &["crate::scenario::", "super::"],
        layered: true,
    },
    Unit {
        file: "src/capture/mod.rs",
        prefixes: &["crate::capture::", "super::"],
        layered: true,
    },
    Unit {
        file: "src/main.rs",
        prefixes: &["crate::"],
        layered: true,
    },
];

/// A folder inside a crate, held to having no module cycle.
const fn nested(file: &'static str, prefixes: &'static [&'static str]) -> Unit {
    Unit {
        file,
        prefixes,
        layered: false,
    }
}

/// Source folders whose functions are measured.
const SOURCE_DIRS: &[&str] = &["eventstream/src", "mock-server/src", "client/src", "src"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_module_cycles_and_every_module_in_its_layer() {
    let mut problems = Vec::new();
    for unit in UNITS {
        let graph = Graph::read(&root(), unit);
        println!("{}", graph.report());
        problems.extend(graph.problems());
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn long_functions_say_why() {
    let mut all = Vec::new();
    for dir in SOURCE_DIRS {
        for file in rust_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&file).expect("a source file");
            let relative = file.strip_prefix(root()).unwrap_or(&file).to_owned();
            all.extend(
                functions(&without_tests(&text))
                    .into_iter()
                    .map(|f| (relative.clone(), f)),
            );
        }
    }
    all.sort_by_key(|(_, f)| std::cmp::Reverse(f.lines));
    println!("longest functions:");
    for (file, f) in all.iter().take(12) {
        println!("  {:4} {}:{} {}", f.lines, file.display(), f.line, f.name);
    }
    let unexplained: Vec<String> = all
        .iter()
        .filter(|(_, f)| f.lines > LONG_FUNCTION && !f.says_why)
        .map(|(file, f)| {
            format!(
                "{}:{} `{}` is {} lines: split it, or say above it `// Long because …`",
                file.display(),
                f.line,
                f.name,
                f.lines
            )
        })
        .collect();
    assert!(unexplained.is_empty(), "\n{}", unexplained.join("\n"));
}

/// The modules of one unit and which uses which.
struct Graph {
    unit: &'static str,
    layered: bool,
    /// Module → the modules it names.
    edges: BTreeMap<String, BTreeSet<String>>,
    /// The stated layers, lowest first (empty when none is stated).
    layers: Vec<(String, Vec<String>)>,
}

impl Graph {
    fn read(root: &Path, unit: &'static Unit) -> Self {
        let file = root.join(unit.file);
        let text = std::fs::read_to_string(&file).expect("a module file");
        let dir = file.parent().expect("a folder");
        let modules = declared_modules(&without_tests(&text));
        let reexports = reexports(&text);
        let mut edges = BTreeMap::new();
        for module in &modules {
            let mut uses = BTreeSet::new();
            for path in module_files(dir, module) {
                let code = blank(&without_tests(&std::fs::read_to_string(&path).unwrap()));
                for name in named_after(&code, unit.prefixes) {
                    let target = reexports.get(&name).cloned().unwrap_or(name);
                    if modules.contains(&target) && &target != module {
                        uses.insert(target);
                    }
                }
            }
            edges.insert(module.clone(), uses);
        }
        Self {
            unit: unit.file,
            layered: unit.layered,
            edges,
            layers: stated_layers(&text),
        }
    }

    fn cycles(&self) -> Vec<Vec<String>> {
        strongly_connected(&self.edges)
            .into_iter()
            .filter(|c| c.len() > 1)
            .collect()
    }

    fn layer_of(&self, module: &str) -> Option<usize> {
        self.layers
            .iter()
            .position(|(_, members)| members.iter().any(|m| m == module))
    }

    fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .cycles()
            .iter()
            .map(|c| format!("{}: modules in a cycle: {}", self.unit, c.join(", ")))
            .collect();
        if self.edges.len() < 2 || !self.layered {
            return out;
        }
        if self.layers.is_empty() {
            out.push(format!(
                "{}: no `//! Layers, each using only those before it: …` line",
                self.unit
            ));
            return out;
        }
        for module in self.edges.keys() {
            if self.layer_of(module).is_none() {
                out.push(format!(
                    "{}: module `{module}` is in no layer of its Layers line",
                    self.unit
                ));
            }
        }
        for (_, members) in &self.layers {
            for m in members.iter().filter(|m| !self.edges.contains_key(*m)) {
                out.push(format!(
                    "{}: the Layers line names `{m}`, which is not a module",
                    self.unit
                ));
            }
        }
        for (from, tos) in &self.edges {
            for to in tos {
                if let (Some(a), Some(b)) = (self.layer_of(from), self.layer_of(to))
                    && b > a
                {
                    out.push(format!(
                        "{}: `{from}` ({}) uses `{to}` ({}), a layer above it",
                        self.unit, self.layers[a].0, self.layers[b].0
                    ));
                }
            }
        }
        out
    }

    fn report(&self) -> String {
        let count: usize = self.edges.values().map(BTreeSet::len).sum();
        let mut out = format!(
            "{}: {} modules, {} edges, cycles: {:?}\n",
            self.unit,
            self.edges.len(),
            count,
            self.cycles()
        );
        for (from, tos) in &self.edges {
            let tos: Vec<&str> = tos.iter().map(String::as_str).collect();
            out.push_str(&format!("  {from} -> {}\n", tos.join(", ")));
        }
        out
    }
}

/// The `//! Layers, …: name (`a`, `b`) → name (`c`)` line, as (layer,
/// modules) lowest first.
fn stated_layers(text: &str) -> Vec<(String, Vec<String>)> {
    let Some(line) = text
        .lines()
        .find(|l| l.trim_start().starts_with("//! Layers"))
    else {
        return Vec::new();
    };
    let list = line.split_once(':').map_or("", |(_, rest)| rest);
    list.split('→')
        .map(|layer| {
            let name = layer
                .split('(')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            let members = layer
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect();
            (name, members)
        })
        .collect()
}

/// `mod x;` declarations of a module file (test-only ones removed first).
fn declared_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim();
        let rest = ["pub mod ", "pub(crate) mod ", "mod "]
            .iter()
            .find_map(|p| line.strip_prefix(p));
        if let Some(name) = rest.and_then(|r| r.strip_suffix(';')) {
            out.insert(name.trim().to_owned());
        }
    }
    out
}

/// Names the module file re-exports (`pub use x::{A, B}`), by the module
/// they come from, so `crate::A` counts as a use of `x`.
fn reexports(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let code = blank(text);
    let mut rest = code.as_str();
    while let Some(at) = rest.find("use ") {
        rest = &rest[at + 4..];
        let end = rest.find(';').unwrap_or(rest.len());
        let statement: String = rest[..end].split_whitespace().collect();
        rest = &rest[end..];
        let statement = statement.trim_start_matches("crate::");
        let Some((module, names)) = statement.split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = name.rsplit(" as ").next().unwrap_or(name);
            let name = name.rsplit("::").next().unwrap_or(name).trim();
            if !name.is_empty() {
                out.insert(name.to_owned(), module.to_owned());
            }
        }
    }
    out
}

/// The files of module `name` below `dir`: `name.rs`, `name/mod.rs` and
/// everything under `name/`.
fn module_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = dir.join(format!("{name}.rs"));
    if file.is_file() {
        out.push(file);
    }
    out.extend(rust_files(&dir.join(name)));
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") && !is_test_file(&path) {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A file of tests beside a module (`tests.rs`, `x/tests/…`).
fn is_test_file(path: &Path) -> bool {
    path.components()
        .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "tests.rs")
}

/// The first path segment after each of `prefixes` in `code`, groups
/// (`crate::{a, b::c}`) included.
fn named_after(code: &str, prefixes: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in prefixes {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = matching(group, '{', '}');
                for item in split_top_level(&group[..end]) {
                    out.push(first_segment(item.trim()));
                }
            } else {
                out.push(first_segment(rest));
            }
        }
    }
    out.retain(|n| !n.is_empty() && n != "self");
    out
}

fn first_segment(path: &str) -> String {
    path.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The length of `text` up to the `close` that ends the group it opens.
fn matching(text: &str, open: char, close: char) -> usize {
    let mut depth = 1;
    for (i, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    text.len()
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Tarjan's strongly connected components.
fn strongly_connected(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, (usize, usize)>,
        stack: Vec<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, (s.next, s.next));
        s.next += 1;
        s.stack.push(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            match s.index.get(w) {
                None => {
                    visit(s, w);
                    let low = s.index[w].1.min(s.index[v].1);
                    s.index.get_mut(v).expect("visited").1 = low;
                }
                Some(&(w_index, _)) if s.stack.contains(&w) => {
                    let low = w_index.min(s.index[v].1);
                    s.index.get_mut(v).expect("visited").1 = low;
                }
                Some(_) => {}
            }
        }
        let (v_index, v_low) = s.index[v];
        if v_index == v_low {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            component.sort();
            s.out.push(component);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.out
}

/// One function: where it starts, how long it is, whether a comment
/// above it says why it is long.
struct Function {
    name: String,
    line: usize,
    lines: usize,
    says_why: bool,
}

/// Every function with a body in `text` (nested ones too).
fn functions(text: &str) -> Vec<Function> {
    let code = blank(text);
    let original: Vec<&str> = text.lines().collect();
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut search = 0;
    while let Some(found) = code[search..].find("fn ") {
        let at = search + found;
        search = at + 3;
        let word_start =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if !word_start {
            continue;
        }
        let name = first_segment(&code[at + 3..]);
        if name.is_empty() {
            continue;
        }
        let Some(open) = code[at..].find(['{', ';']).map(|i| at + i) else {
            continue;
        };
        if bytes[open] == b';' {
            continue;
        }
        let close = open + 1 + matching(&code[open + 1..], '{', '}');
        let line = code[..at].matches('\n').count();
        let last = code[..close].matches('\n').count();
        out.push(Function {
            name,
            line: line + 1,
            lines: last - line + 1,
            says_why: comment_above(&original, line).contains("long because"),
        });
    }
    out
}

/// The comment lines right above line `at` (attributes skipped), lower-cased.
fn comment_above(lines: &[&str], at: usize) -> String {
    let mut out = String::new();
    for line in lines[..at].iter().rev() {
        let line = line.trim();
        if line.starts_with("//") {
            out.push_str(&line.to_ascii_lowercase());
            out.push(' ');
        } else if !line.starts_with("#[") {
            break;
        }
    }
    out
}

/// `text` without its `#[cfg(test)]` items.
fn without_tests(text: &str) -> String {
    let code = blank(text);
    let mut out = text.to_owned();
    let mut search = 0;
    while let Some(found) = code[search..].find("#[cfg(test)]") {
        let at = search + found;
        let after = at + "#[cfg(test)]".len();
        let Some(end) = code[after..].find(['{', ';']).map(|i| after + i) else {
            break;
        };
        let end = if code.as_bytes()[end] == b'{' {
            end + 1 + matching(&code[end + 1..], '{', '}') + 1
        } else {
            end + 1
        };
        // Blank it out, keeping the lines so positions stay true.
        let kept: String = text[at..end.min(text.len())]
            .chars()
            .map(|c| {
                if c == '\n' {
                    "\n".to_owned()
                } else {
                    " ".repeat(c.len_utf8())
                }
            })
            .collect();
        out.replace_range(at..end.min(text.len()), &kept);
        search = end.min(text.len());
    }
    out
}

/// `text` with comments, strings and character literals turned into
/// spaces (lines kept), so braces and paths inside them do not count.
fn blank(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // Same byte length, so offsets in the blanked text hold in the original.
    let blanked = |c: char| {
        if c == '\n' {
            "\n".to_owned()
        } else {
            " ".repeat(c.len_utf8())
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let end = if c == '/' && next == Some('/') {
            chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |n| i + n)
        } else if c == '/' && next == Some('*') {
            block_comment_end(&chars, i)
        } else if let Some(end) = string_end(&chars, i) {
            end
        } else if c == '\'' {
            char_literal_end(&chars, i).unwrap_or(i + 1)
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        out.extend(chars[i..end].iter().map(|&c| blanked(c)));
        i = end;
    }
    out
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let (mut depth, mut i) = (0, start);
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// Where a string literal starting at `i` ends (plain, byte, raw).
fn string_end(chars: &[char], i: usize) -> Option<usize> {
    let ident_before = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    let mut j = i;
    if chars[j] == 'b' || chars[j] == 'c' {
        j += 1;
    }
    if chars.get(j) == Some(&'r') {
        if ident_before {
            return None;
        }
        let hashes = chars[j + 1..].iter().take_while(|&&c| c == '#').count();
        if chars.get(j + 1 + hashes) != Some(&'"') {
            return None;
        }
        let body = j + 2 + hashes;
        let closing: Vec<char> = std::iter::once('"')
            .chain(std::iter::repeat_n('#', hashes))
            .collect();
        return Some(
            (body..chars.len())
                .find(|&k| chars[k..].starts_with(&closing))
                .map_or(chars.len(), |k| k + closing.len()),
        );
    }
    if chars.get(j) != Some(&'"') || (j > i && ident_before) {
        return None;
    }
    let mut k = j + 1;
    while k < chars.len() {
        match chars[k] {
            '\\' => k += 2,
            '"' => return Some(k + 1),
            _ => k += 1,
        }
    }
    Some(chars.len())
}

/// Where a character literal starting at `i` ends; `None` for a
/// lifetime (`'a`).
fn char_literal_end(chars: &[char], i: usize) -> Option<usize> {
    match chars.get(i + 1) {
        Some('\\') => {
            let close = chars[i + 2..].iter().position(|&c| c == '\'')?;
            Some(i + 2 + close + 1)
        }
        Some(_) if chars.get(i + 2) == Some(&'\'') => Some(i + 3),
        _ => None,
    }
}

#[test]
fn the_reader_sees_through_strings_comments_and_tests() {
    let text = "fn a() {\n    let s = \"}\"; // }\n    let c = '}';\n    let r = r#\"}\"#;\n}\n#[cfg(test)]\nmod tests {\n    fn b() {}\n}\nfn d<'x>(v: &'x str) {}\n";
    let found = functions(&without_tests(text));
    let shape: Vec<(String, usize)> = found.iter().map(|f| (f.name.clone(), f.lines)).collect();
    assert_eq!(shape, [("a".to_owned(), 5), ("d".to_owned(), 1)]);
    let named = named_after(
        &blank("use crate::{a::X, b, c::{d, e}};\nfn f() { crate::g::h(); \"crate::z\"; }"),
        &["crate::"],
    );
    assert_eq!(named, ["a", "b", "c", "g"]);
    let mut edges = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        edges
            .entry(a.to_owned())
            .or_insert_with(BTreeSet::new)
            .insert(b.to_owned());
    }
    edges.insert("d".to_owned(), BTreeSet::new());
    let cycles: Vec<Vec<String>> = strongly_connected(&edges)
        .into_iter()
        .filter(|c| c.len() > 1)
        .collect();
    assert_eq!(cycles, [["a", "b", "c"]]);
    assert_eq!(
        stated_layers("//! Layers, each using only those before it: base (`a`, `b`) → top (`c`)\n"),
        [
            ("base".to_owned(), vec!["a".to_owned(), "b".to_owned()]),
            ("top".to_owned(), vec!["c".to_owned()])
        ]
    );
}
