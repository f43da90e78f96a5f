//! JSON text rewritten in place: each string value is offered, with its
//! path, to a decision that may replace it; everything else (keys, key
//! order, numbers, spacing, escapes of the values kept) stays byte for
//! byte. And [`LeafStream`], the string values of a JSON text that
//! arrives in fragments (a tool input's `partial_json`), made placeholders
//! as the fragments come.

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A member of an object.
    Key(String),
    /// An element of an array.
    Index(usize),
}

/// How deep a document may nest before the rest of it is left to the
/// caller as broken (the walk is recursive).
const MAX_DEPTH: usize = 256;

/// What [`rewrite`] made of a text.
pub(crate) struct Rewritten {
    /// The text up to `rest`, rewritten.
    pub(crate) out: String,
    /// Where the text stopped being JSON (a truncated body, bytes after
    /// the value, nesting past [`MAX_DEPTH`]): the caller decides what
    /// becomes of the text from there. `None` when it was JSON to its end.
    pub(crate) rest: Option<usize>,
}

/// A decision on one string value: its path and decoded text in, its new
/// text out (`None` keeps the value as it was written).
pub(crate) type Decide<'d> = dyn FnMut(&[Seg], &str) -> Option<String> + 'd;

/// `src` with every string value `decide` replaces replaced (re-escaped
/// as JSON).
pub(crate) fn rewrite(src: &str, decide: &mut Decide<'_>) -> Rewritten {
    let mut walk = Walk {
        src,
        bytes: src.as_bytes(),
        i: 0,
        copied: 0,
        out: String::with_capacity(src.len()),
        path: Vec::new(),
        decide,
    };
    let result = walk.value(0).and_then(|()| {
        walk.skip_space();
        if walk.i == walk.bytes.len() {
            Ok(())
        } else {
            Err(walk.i)
        }
    });
    let end = match result {
        Ok(()) => src.len(),
        Err(at) => at,
    };
    walk.out.push_str(&src[walk.copied..end]);
    Rewritten {
        out: walk.out,
        rest: result.err(),
    }
}

struct Walk<'s, 'd, 'e> {
    src: &'s str,
    bytes: &'s [u8],
    i: usize,
    /// How much of `src` is in `out` (up to the last replaced value).
    copied: usize,
    out: String,
    path: Vec<Seg>,
    decide: &'d mut Decide<'e>,
}

/// Where the JSON broke.
type Broke = usize;

impl Walk<'_, '_, '_> {
    fn skip_space(&mut self) {
        while self
            .bytes
            .get(self.i)
            .is_some_and(|b| b" \t\r\n".contains(b))
        {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), Broke> {
        self.skip_space();
        if depth > MAX_DEPTH {
            return Err(self.i);
        }
        match self.bytes.get(self.i) {
            Some(b'{') => self.container(depth, b'}'),
            Some(b'[') => self.container(depth, b']'),
            Some(b'"') => self.string_value(),
            Some(b) if b.is_ascii_alphanumeric() || *b == b'-' => {
                let len = self.bytes[self.i..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
                    .count();
                let token = &self.bytes[self.i..self.i + len];
                let number = token[0] == b'-' || token[0].is_ascii_digit();
                if !number && !matches!(token, b"true" | b"false" | b"null") {
                    return Err(self.i);
                }
                self.i += len;
                Ok(())
            }
            _ => Err(self.i),
        }
    }

    /// An object (`close` is `}`) or an array (`]`), from its opening
    /// byte.
    fn container(&mut self, depth: usize, close: u8) -> Result<(), Broke> {
        self.i += 1;
        self.skip_space();
        if self.bytes.get(self.i) == Some(&close) {
            self.i += 1;
            return Ok(());
        }
        for index in 0.. {
            self.skip_space();
            if close == b'}' {
                let key = self.string()?.1;
                self.skip_space();
                if self.bytes.get(self.i) != Some(&b':') {
                    return Err(self.i);
                }
                self.i += 1;
                self.path.push(Seg::Key(key));
            } else {
                self.path.push(Seg::Index(index));
            }
            let value = self.value(depth + 1);
            self.path.pop();
            value?;
            self.skip_space();
            match self.bytes.get(self.i) {
                Some(b',') => self.i += 1,
                Some(&b) if b == close => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.i),
            }
        }
        unreachable!("the loop above returns")
    }

    /// A string literal at `i`: where it started, its decoded text.
    fn string(&mut self) -> Result<(usize, String), Broke> {
        let start = self.i;
        if self.bytes.get(start) != Some(&b'"') {
            return Err(start);
        }
        let mut j = start + 1;
        loop {
            match self.bytes.get(j) {
                Some(b'"') => break,
                Some(b'\\') => j += 2,
                Some(_) => j += 1,
                None => return Err(start),
            }
        }
        let end = j + 1;
        let decoded = serde_json::from_str::<String>(&self.src[start..end]).map_err(|_| start)?;
        self.i = end;
        Ok((start, decoded))
    }

    fn string_value(&mut self) -> Result<(), Broke> {
        let (start, decoded) = self.string()?;
        if let Some(new) = (self.decide)(&self.path, &decoded) {
            self.out.push_str(&self.src[self.copied..start]);
            self.out.push_str(&quoted(&new));
            self.copied = self.i;
        }
        Ok(())
    }
}

/// `text` as a JSON string literal.
pub(crate) fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// `text` as a placeholder of the same length in characters: each one
/// `x`, but line breaks kept.
pub(crate) fn placeholder(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\n' { '\n' } else { 'x' })
        .collect()
}

/// The string values of one JSON text that arrives in fragments (the
/// `partial_json` of a tool input's deltas), made placeholders fragment by
/// fragment: every character of a value becomes `x` (an escape, one `x`;
/// `\n` stays), keys and structure are kept, so the fragments joined are
/// still the same JSON with the same keys, and each fragment keeps its
/// length (less one character for each escape other than `\n`).
#[derive(Debug, Default)]
pub(crate) struct LeafStream {
    /// The open containers, innermost last: `true` for an object.
    stack: Vec<bool>,
    /// In an object, whether the next string is a key.
    expect_key: bool,
    /// Inside a string: whether it is a key, and the escape under way.
    string: Option<(bool, Escape)>,
}

#[derive(Debug, Clone, Copy)]
enum Escape {
    None,
    /// After `\`.
    Backslash,
    /// After `\u` and this many hex digits, with the value so far.
    Unicode(u8, u32),
}

/// What [`LeafStream::feed`] made of a fragment.
pub(crate) struct Fed {
    pub(crate) out: String,
    /// Characters of values replaced.
    pub(crate) chars: usize,
    /// Values that began in this fragment.
    pub(crate) values: usize,
}

impl LeafStream {
    pub(crate) fn feed(&mut self, fragment: &str) -> Fed {
        let mut fed = Fed {
            out: String::with_capacity(fragment.len()),
            chars: 0,
            values: 0,
        };
        for c in fragment.chars() {
            match self.string {
                Some((key, escape)) => self.in_string(c, key, escape, &mut fed),
                None => self.between(c, &mut fed),
            }
        }
        fed
    }

    fn between(&mut self, c: char, fed: &mut Fed) {
        let in_object = self.stack.last() == Some(&true);
        match c {
            '{' | '[' => {
                self.stack.push(c == '{');
                self.expect_key = c == '{';
            }
            '}' | ']' => {
                self.stack.pop();
                self.expect_key = false;
            }
            ',' => self.expect_key = in_object,
            ':' => self.expect_key = false,
            '"' => {
                let key = in_object && self.expect_key;
                if !key {
                    fed.values += 1;
                }
                self.string = Some((key, Escape::None));
            }
            _ => {}
        }
        // Outside strings JSON has structure, numbers and literals; a
        // character that is none of those is not let through.
        let plain =
            c.is_ascii_whitespace() || c.is_ascii_digit() || "{}[],:\"+-.eEtrufalsn".contains(c);
        if plain {
            fed.out.push(c);
        } else {
            fed.out.push('x');
            fed.chars += 1;
        }
    }

    fn in_string(&mut self, c: char, key: bool, escape: Escape, fed: &mut Fed) {
        if key {
            self.in_key(c, escape, fed);
            return;
        }
        let emit = |text: char, fed: &mut Fed| {
            fed.out.push(text);
            if text == 'x' {
                fed.chars += 1;
            }
        };
        let next = match escape {
            Escape::None => match c {
                '\\' => Escape::Backslash,
                '"' => {
                    self.string = None;
                    fed.out.push('"');
                    return;
                }
                '\n' => {
                    emit('\n', fed);
                    Escape::None
                }
                _ => {
                    emit('x', fed);
                    Escape::None
                }
            },
            Escape::Backslash => match c {
                'n' => {
                    fed.out.push_str("\\n");
                    Escape::None
                }
                'u' => Escape::Unicode(0, 0),
                _ => {
                    emit('x', fed);
                    Escape::None
                }
            },
            Escape::Unicode(digits, value) => match c.to_digit(16) {
                Some(d) if digits < 3 => Escape::Unicode(digits + 1, value * 16 + d),
                Some(d) => {
                    // The second half of a surrogate pair is the same
                    // character as the first, which made its `x`.
                    if !(0xDC00..=0xDFFF).contains(&(value * 16 + d)) {
                        emit('x', fed);
                    }
                    Escape::None
                }
                None => {
                    emit('x', fed);
                    self.string = Some((false, Escape::None));
                    return self.in_string(c, false, Escape::None, fed);
                }
            },
        };
        self.string = Some((false, next));
    }

    /// A key is kept as written; only where it ends matters.
    fn in_key(&mut self, c: char, escape: Escape, fed: &mut Fed) {
        fed.out.push(c);
        self.string = match (escape, c) {
            (Escape::None, '\\') => Some((true, Escape::Backslash)),
            (Escape::None, '"') => None,
            _ => Some((true, Escape::None)),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths_of(src: &str) -> (Vec<String>, Rewritten) {
        let mut seen = Vec::new();
        let out = rewrite(src, &mut |path: &[Seg], text: &str| {
            seen.push(format!("{path:?}={text}"));
            (text == "secret").then(|| "gone".to_owned())
        });
        (seen, out)
    }

    #[test]
    fn values_are_offered_with_their_paths_and_the_rest_is_kept() {
        let src = "{ \"a\" : [1, \"secret\", {\"b\":\"k\\u00e9ep\"}], \"c\":true }\n";
        let (seen, out) = paths_of(src);
        assert_eq!(
            seen,
            [
                r#"[Key("a"), Index(1)]=secret"#,
                r#"[Key("a"), Index(2), Key("b")]=kéep"#
            ]
        );
        assert_eq!(out.out, src.replace("\"secret\"", "\"gone\""));
        assert_eq!(out.rest, None);
    }

    #[test]
    fn broken_json_says_where() {
        for (src, at) in [
            (r#"{"a":"secret","b":"unterminated"#, 18),
            (r#"{"a":1} trailing"#, 8),
            ("", 0),
            ("not json", 0),
            (r#"{"a" 1}"#, 5),
        ] {
            let (_, out) = paths_of(src);
            assert_eq!(out.rest, Some(at), "{src}");
            assert_eq!(out.out, src[..at].replace("\"secret\"", "\"gone\""));
        }
        let deep = "[".repeat(100_000);
        assert!(paths_of(&deep).1.rest.is_some());
    }

    #[test]
    fn fragments_keep_structure_and_length() {
        let fragments = [
            "{\"com",
            "mand\": \"ls -la\\",
            "n/tmp\", \"n\": 3, \"list\": [\"a\\\"b\", ",
            "\"\\ud83d\\ude00\"], \"o\": {\"k\": \"v\"}}",
        ];
        let mut stream = LeafStream::default();
        let outs: Vec<String> = fragments.iter().map(|f| stream.feed(f).out).collect();
        let joined: String = outs.concat();
        let value: serde_json::Value = serde_json::from_str(&joined).expect(&joined);
        assert_eq!(
            value,
            serde_json::json!({"command": "xxxxxx\nxxxx", "n": 3, "list": ["xxx", "x"], "o": {"k": "x"}})
        );
        assert_eq!(outs[0], fragments[0]);
        assert_eq!(outs[3].len(), "\"x\"], \"o\": {\"k\": \"x\"}}".len());
    }
}
