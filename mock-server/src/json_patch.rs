//! Changing part of a JSON document: JSON Merge Patch (RFC 7396) and JSON
//! Patch (RFC 6902, with JSON Pointer, RFC 6901), as the admin API's
//! `PATCH /__bedrock_mock/config` takes them.
//!
//! Both work on a copy: a JSON Patch whose fifth operation fails leaves
//! the document as it was, as RFC 6902 section 5 asks.

use serde_json::{Map, Value};

/// `target` with `patch` merged in (RFC 7396 section 2): an object's
/// members are merged member by member, `null` removes one, anything else
/// (an array, a string, a number) replaces what was there whole.
pub(crate) fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(object) = target {
        for (name, value) in members {
            if value.is_null() {
                object.remove(name);
            } else {
                merge(object.entry(name.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Why a JSON Patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatchError {
    pub kind: PatchErrorKind,
    /// The operation at fault, counted from 0, when there is one.
    pub operation: Option<usize>,
    /// What is wrong, and what to send instead.
    pub message: String,
}

/// The kinds of [`PatchError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchErrorKind {
    /// Not a JSON Patch document: not an array of operation objects, a
    /// member missing or of the wrong type, an unknown `op`.
    Malformed,
    /// A JSON Pointer that is not one (`a/b` without the leading `/`, an
    /// index `01`), or a `move` into the value it moves.
    BadPointer,
    /// A pointer naming nothing in the document (RFC 5789: a patch that
    /// does not fit the resource's state).
    NoSuchPath,
    /// A `test` operation whose value differs from the document's.
    TestFailed,
}

impl PatchErrorKind {
    /// Its name in an error answer: `test_failed`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed_patch",
            Self::BadPointer => "bad_pointer",
            Self::NoSuchPath => "no_such_path",
            Self::TestFailed => "test_failed",
        }
    }
}

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.operation {
            Some(at) => write!(f, "operation {at}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// `document` with the operations of JSON Patch `patch` applied in order
/// (RFC 6902 section 4), or unchanged with the first that failed.
pub(crate) fn apply(document: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Array(operations) = patch else {
        return Err(PatchError {
            kind: PatchErrorKind::Malformed,
            operation: None,
            message: "a JSON Patch is an array of operations, such as \
                      [{\"op\":\"add\",\"path\":\"/credentials/-\",\"value\":{...}}]; \
                      to send a partial object instead, use \
                      Content-Type: application/merge-patch+json"
                .to_owned(),
        });
    };
    let mut patched = document.clone();
    for (at, operation) in operations.iter().enumerate() {
        apply_one(&mut patched, operation).map_err(|(kind, message)| PatchError {
            kind,
            operation: Some(at),
            message,
        })?;
    }
    *document = patched;
    Ok(())
}

type Failure = (PatchErrorKind, String);

fn malformed(message: impl Into<String>) -> Failure {
    (PatchErrorKind::Malformed, message.into())
}

/// One operation object: its `op`, and the members that op needs.
fn apply_one(document: &mut Value, operation: &Value) -> Result<(), Failure> {
    let Value::Object(members) = operation else {
        return Err(malformed(
            "an operation is an object with `op` and `path` (and `value` or `from`)",
        ));
    };
    let text = |name: &str| -> Result<&str, Failure> {
        match members.get(name) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(malformed(format!("`{name}` must be a string"))),
            None => Err(malformed(format!("`{name}` is missing"))),
        }
    };
    let value = || {
        members
            .get("value")
            .ok_or_else(|| malformed("`value` is missing"))
    };
    let op = text("op")?;
    let path = parse_pointer(text("path")?)?;
    match op {
        "add" => add(document, &path, value()?.clone()),
        "remove" => remove(document, &path).map(drop),
        "replace" => {
            let value = value()?.clone();
            *resolve_mut(document, &path)? = value;
            Ok(())
        }
        "move" => move_value(document, &parse_pointer(text("from")?)?, &path),
        "copy" => {
            let from = parse_pointer(text("from")?)?;
            let copied = resolve(document, &from)?.clone();
            add(document, &path, copied)
        }
        "test" => test(document, &path, value()?),
        other => Err(malformed(format!(
            "unknown op `{other}`: one of add, remove, replace, move, copy, test"
        ))),
    }
}

/// RFC 6902 section 4.4: the value at `from` removed, then added at
/// `path`, which must not be inside it.
fn move_value(document: &mut Value, from: &[String], path: &[String]) -> Result<(), Failure> {
    if path.len() > from.len() && path.starts_with(from) {
        return Err((
            PatchErrorKind::BadPointer,
            format!("cannot move {} into itself ({})", show(from), show(path)),
        ));
    }
    let moved = remove(document, from)?;
    add(document, path, moved)
}

/// RFC 6902 section 4.6: the value at `path` is `expected`. Neither value
/// is quoted in the error: either may be a secret (a credential's).
fn test(document: &Value, path: &[String], expected: &Value) -> Result<(), Failure> {
    if same(resolve(document, path)?, expected) {
        return Ok(());
    }
    Err((
        PatchErrorKind::TestFailed,
        format!(
            "test failed: {} holds another value than the one given; GET the config and \
             send a patch for what it holds now",
            show(path)
        ),
    ))
}

/// A JSON Pointer's reference tokens, `~1` and `~0` decoded.
fn parse_pointer(pointer: &str) -> Result<Vec<String>, Failure> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err((
            PatchErrorKind::BadPointer,
            format!(
                "`{pointer}` is not a JSON Pointer: it starts with `/` (`/{pointer}`), \
                 or is empty for the whole document"
            ),
        ));
    };
    rest.split('/')
        .map(|token| {
            let mut decoded = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    decoded.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => decoded.push('~'),
                    Some('1') => decoded.push('/'),
                    _ => {
                        return Err((
                            PatchErrorKind::BadPointer,
                            format!(
                                "`{pointer}`: `~` is written `~0` and `/` is `~1` in a \
                                 JSON Pointer"
                            ),
                        ));
                    }
                }
            }
            Ok(decoded)
        })
        .collect()
}

/// A pointer as it would be written, for messages.
fn show(tokens: &[String]) -> String {
    if tokens.is_empty() {
        return "the whole document".to_owned();
    }
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// An array index token: digits without a leading zero (RFC 6901
/// section 4), naming one of `len` items (or, to `insert`, the end).
fn index(token: &str, len: usize, insert: bool, tokens: &[String]) -> Result<usize, Failure> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits || (token.len() > 1 && token.starts_with('0')) {
        return Err((
            PatchErrorKind::BadPointer,
            format!(
                "{}: `{token}` is not an array index (0, 1, 2 ...; `-` only to add at the end)",
                show(tokens)
            ),
        ));
    }
    match token.parse::<usize>() {
        Ok(i) if i < len || (insert && i == len) => Ok(i),
        _ => Err((
            PatchErrorKind::NoSuchPath,
            format!(
                "{}: index {token} is past the array's end (it has {len} items)",
                show(tokens)
            ),
        )),
    }
}

fn missing(tokens: &[String]) -> Failure {
    (
        PatchErrorKind::NoSuchPath,
        format!(
            "{} is not in the document; GET the config to see what it holds (a patch does \
             not see the keys issued since, which GET lists after the config's own)",
            show(tokens)
        ),
    )
}

fn resolve<'a>(document: &'a Value, tokens: &[String]) -> Result<&'a Value, Failure> {
    let mut at = document;
    for (depth, token) in tokens.iter().enumerate() {
        let here = &tokens[..=depth];
        at = match at {
            Value::Object(object) => object.get(token).ok_or_else(|| missing(here))?,
            Value::Array(items) => &items[index(token, items.len(), false, here)?],
            _ => return Err(missing(here)),
        };
    }
    Ok(at)
}

fn resolve_mut<'a>(document: &'a mut Value, tokens: &[String]) -> Result<&'a mut Value, Failure> {
    let mut at = document;
    for (depth, token) in tokens.iter().enumerate() {
        let here = &tokens[..=depth];
        at = match at {
            Value::Object(object) => object.get_mut(token).ok_or_else(|| missing(here))?,
            Value::Array(items) => {
                let i = index(token, items.len(), false, here)?;
                &mut items[i]
            }
            _ => return Err(missing(here)),
        };
    }
    Ok(at)
}

/// RFC 6902 section 4.1: into an object, a member set (or replaced); into
/// an array, an item inserted before the index (`-`: at the end); at the
/// root, the whole document replaced.
fn add(document: &mut Value, tokens: &[String], value: Value) -> Result<(), Failure> {
    let Some((last, parent)) = tokens.split_last() else {
        *document = value;
        return Ok(());
    };
    match resolve_mut(document, parent)? {
        Value::Object(object) => {
            object.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            let at = if last == "-" {
                items.len()
            } else {
                index(last, items.len(), true, tokens)?
            };
            items.insert(at, value);
            Ok(())
        }
        _ => Err(missing(tokens)),
    }
}

/// RFC 6902 section 4.2: the value at `tokens`, taken out.
fn remove(document: &mut Value, tokens: &[String]) -> Result<Value, Failure> {
    let Some((last, parent)) = tokens.split_last() else {
        return Ok(std::mem::take(document));
    };
    match resolve_mut(document, parent)? {
        Value::Object(object) => object.remove(last).ok_or_else(|| missing(tokens)),
        Value::Array(items) => {
            let at = index(last, items.len(), false, tokens)?;
            Ok(items.remove(at))
        }
        _ => Err(missing(tokens)),
    }
}

/// JSON equality as `test` means it (RFC 6902 section 4.6): numbers by
/// value (`1` is `1.0`), arrays item by item, objects member by member
/// whatever their order.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 7396 appendix A, every row.
    #[test]
    fn merge_patch_rfc_7396_appendix_a() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (target, patch, expected) in cases {
            let mut got = target.clone();
            merge(&mut got, &patch);
            assert_eq!(got, expected, "{target} merged with {patch}");
        }
    }

    fn patched(document: Value, patch: Value) -> Result<Value, PatchError> {
        let mut document = document;
        apply(&mut document, &patch).map(|()| document)
    }

    /// RFC 6902 appendix A.1 to A.16, the examples that succeed.
    #[test]
    fn json_patch_rfc_6902_appendix_a() {
        let cases = [
            // A.1 adding an object member
            (
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/baz","value":"qux"}]),
                json!({"baz":"qux","foo":"bar"}),
            ),
            // A.2 adding an array element
            (
                json!({"foo":["bar","baz"]}),
                json!([{"op":"add","path":"/foo/1","value":"qux"}]),
                json!({"foo":["bar","qux","baz"]}),
            ),
            // A.3 removing an object member
            (
                json!({"baz":"qux","foo":"bar"}),
                json!([{"op":"remove","path":"/baz"}]),
                json!({"foo":"bar"}),
            ),
            // A.4 removing an array element
            (
                json!({"foo":["bar","qux","baz"]}),
                json!([{"op":"remove","path":"/foo/1"}]),
                json!({"foo":["bar","baz"]}),
            ),
            // A.5 replacing a value
            (
                json!({"baz":"qux","foo":"bar"}),
                json!([{"op":"replace","path":"/baz","value":"boo"}]),
                json!({"baz":"boo","foo":"bar"}),
            ),
            // A.6 moving a value
            (
                json!({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}),
                json!([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]),
                json!({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}),
            ),
            // A.7 moving an array element
            (
                json!({"foo":["all","grass","cows","eat"]}),
                json!([{"op":"move","from":"/foo/1","path":"/foo/3"}]),
                json!({"foo":["all","cows","eat","grass"]}),
            ),
            // A.8 testing a value: success
            (
                json!({"baz":"qux","foo":["a",2,"c"]}),
                json!([
                    {"op":"test","path":"/baz","value":"qux"},
                    {"op":"test","path":"/foo/1","value":2}
                ]),
                json!({"baz":"qux","foo":["a",2,"c"]}),
            ),
            // A.10 adding a nested member object
            (
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/child","value":{"grandchild":{}}}]),
                json!({"foo":"bar","child":{"grandchild":{}}}),
            ),
            // A.11 ignoring unrecognized elements
            (
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/baz","value":"qux","xyz":123}]),
                json!({"foo":"bar","baz":"qux"}),
            ),
            // A.14 ~ escape ordering
            (
                json!({"/":9,"~1":10}),
                json!([{"op":"test","path":"/~01","value":10}]),
                json!({"/":9,"~1":10}),
            ),
            // A.16 adding an array value
            (
                json!({"foo":["bar"]}),
                json!([{"op":"add","path":"/foo/-","value":["abc","def"]}]),
                json!({"foo":["bar",["abc","def"]]}),
            ),
            // copy, and add at the root
            (
                json!({"a":{"b":1}}),
                json!([{"op":"copy","from":"/a","path":"/c"}]),
                json!({"a":{"b":1},"c":{"b":1}}),
            ),
            (
                json!({"a":1}),
                json!([{"op":"add","path":"","value":[1]}]),
                json!([1]),
            ),
        ];
        for (document, patch, expected) in cases {
            assert_eq!(
                patched(document.clone(), patch.clone()),
                Ok(expected),
                "{document} patched with {patch}"
            );
        }
    }

    /// RFC 6902 appendix A.9, A.12, A.13, A.15: errors, each of its kind,
    /// the document left as it was.
    #[test]
    fn json_patch_errors_rfc_6902_appendix_a() {
        let cases = [
            // A.9 testing a value: error
            (
                json!({"baz":"qux"}),
                json!([{"op":"test","path":"/baz","value":"bar"}]),
                PatchErrorKind::TestFailed,
            ),
            // A.12 adding to a nonexistent target
            (
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/baz/bat","value":"qux"}]),
                PatchErrorKind::NoSuchPath,
            ),
            // A.15 comparing strings and numbers
            (
                json!({"/":9,"~1":10}),
                json!([{"op":"test","path":"/~01","value":"10"}]),
                PatchErrorKind::TestFailed,
            ),
            // A.13 invalid JSON Patch document (serde_json keeps the
            // last of two `op`s; an unknown one is refused the same way)
            (
                json!({"foo":"bar"}),
                json!([{"op":"invent","path":"/baz","value":"qux"}]),
                PatchErrorKind::Malformed,
            ),
            (
                json!({"foo":"bar"}),
                json!({"op":"add"}),
                PatchErrorKind::Malformed,
            ),
            (
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/a"}]),
                PatchErrorKind::Malformed,
            ),
            (
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"foo","value":1}]),
                PatchErrorKind::BadPointer,
            ),
            (
                json!({"foo":[1, 2]}),
                json!([{"op":"replace","path":"/foo/01","value":1}]),
                PatchErrorKind::BadPointer,
            ),
            (
                json!({"foo":[1, 2]}),
                json!([{"op":"remove","path":"/foo/-"}]),
                PatchErrorKind::BadPointer,
            ),
            (
                json!({"foo":[1, 2]}),
                json!([{"op":"add","path":"/foo/3","value":1}]),
                PatchErrorKind::NoSuchPath,
            ),
            (
                json!({"foo":"bar"}),
                json!([{"op":"replace","path":"/nope","value":1}]),
                PatchErrorKind::NoSuchPath,
            ),
            (
                json!({"a":{"b":{}}}),
                json!([{"op":"move","from":"/a","path":"/a/b/c"}]),
                PatchErrorKind::BadPointer,
            ),
            (
                json!({"a":1}),
                json!([{"op":"add","path":"/a~2","value":1}]),
                PatchErrorKind::BadPointer,
            ),
        ];
        for (document, patch, kind) in cases {
            let mut after = document.clone();
            let error = apply(&mut after, &patch).unwrap_err();
            assert_eq!(error.kind, kind, "{patch}: {error}");
            assert_eq!(after, document, "{patch} left the document as it was");
        }
    }

    #[test]
    fn a_failed_operation_undoes_the_ones_before() {
        let mut document = json!({"a":1});
        let patch = json!([
            {"op":"add","path":"/b","value":2},
            {"op":"test","path":"/a","value":2}
        ]);
        let error = apply(&mut document, &patch).unwrap_err();
        assert_eq!(error.operation, Some(1));
        assert!(
            error
                .to_string()
                .starts_with("operation 1: test failed: /a holds another value")
        );
        assert_eq!(document, json!({"a":1}));
    }

    #[test]
    fn a_failed_test_quotes_neither_value() {
        let document = json!({"secret_access_key":"wJalrXUtnFEMI"});
        let patch = json!([{"op":"test","path":"/secret_access_key","value":"guess-1234"}]);
        let error = patched(document, patch).unwrap_err().to_string();
        assert!(
            !error.contains("wJalrXUtnFEMI") && !error.contains("guess-1234"),
            "{error}"
        );
    }

    #[test]
    fn test_compares_numbers_by_value_and_objects_whatever_their_order() {
        let document = json!({"n":1,"o":{"x":1,"y":[2.0]}});
        let patch = json!([
            {"op":"test","path":"/n","value":1.0},
            {"op":"test","path":"/o","value":{"y":[2],"x":1}}
        ]);
        assert!(patched(document, patch).is_ok());
    }
}
