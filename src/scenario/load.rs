//! Reading scenario files: TOML into [`Scenario`], with errors that name
//! the file, line, column and field, and the checks serde cannot make:
//! the scenario's own here, and for its `[server]` the checks every config
//! of the mock passes (`ServerConfig::check`), placed in the file.

use std::fmt;
use std::path::{Path, PathBuf};

use bedrock_client::FailureKind;
use bedrock_mock_server::{ConfigErrorKind, Operation};

use super::format::{
    ClientSpec, Counts, Expect, NamedClient, RefreshSpec, SCHEMA_VERSION, Scenario, SettingsFiles,
    parse_span,
};

/// Why a scenario file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The field at fault (`server.rules[0].answer`), when known.
    pub field: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
    /// The kind of problem, when the mock's config checks found it in the
    /// scenario's `[server]`: the same kind `ServerConfig::check` gives on
    /// every other way a config comes in.
    pub kind: Option<ConfigErrorKind>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// Reads and checks one scenario file.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        path: path.to_owned(),
        position: None,
        field: None,
        message: format!("cannot read it: {e}"),
        kind: None,
    })?;
    parse(path, &text)
}

/// Parses scenario `text` read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, LoadError> {
    let at = |span: Option<std::ops::Range<usize>>| span.map(|s| line_column(text, s.start));
    let deserializer = toml::Deserializer::parse(text).map_err(|e| LoadError {
        path: path.to_owned(),
        position: at(e.span()),
        field: None,
        message: e.message().trim().to_owned(),
        kind: None,
    })?;
    let scenario: Scenario = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        LoadError {
            path: path.to_owned(),
            position: at(inner.span()),
            field: (field != ".").then_some(field),
            message: inner.message().trim().to_owned(),
            kind: None,
        }
    })?;
    let placed = |(field, message): Problem, kind| LoadError {
        path: path.to_owned(),
        position: find_field(text, &field),
        field: Some(field),
        message,
        kind,
    };
    check(&scenario)
        .and_then(|()| name_is_stem(path, &scenario.name))
        .map_err(|problem| placed(problem, None))?;
    check_server(&scenario).map_err(|(problem, kind)| placed(problem, Some(kind)))?;
    Ok(scenario)
}

/// Whether variable `name` names a place to connect to: a scenario may
/// set it only to a URL on the mock (`{mock}` or `{mock}/...`), so that
/// no scenario sends anything off this machine by mistake. (Scenarios are
/// trusted like a Makefile: a refresh command is a shell command.)
pub fn is_endpoint_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("AWS_ENDPOINT_URL")
        || upper.ends_with("_BASE_URL")
        || upper.ends_with("_PROXY")
        || upper == "AWS_CONTAINER_CREDENTIALS_FULL_URI"
}

/// Whether `value` is a URL on the mock: `{mock}`, then nothing, a path or
/// a query (not `{mock}@elsewhere`, which names another host).
fn is_on_the_mock(value: &str) -> bool {
    value
        .strip_prefix("{mock}")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

/// Variables that would make the client ignore the endpoints the runner
/// sets.
const FORBIDDEN_VARIABLES: &[&str] = &[
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
];

/// What `expect.error` says of a run that did not fail; any other value
/// names a [`FailureKind`] (`bedrock_client::cli::Outcome::error`).
const NO_FAILURE: &str = "none";

/// Whether `kind` is a value `expect.error` may take.
fn names_a_failure_kind(kind: &str) -> bool {
    kind == NO_FAILURE || kind.parse::<FailureKind>().is_ok()
}

/// The values `expect.error` may take, `none` first.
fn failure_kinds() -> Vec<&'static str> {
    std::iter::once(NO_FAILURE)
        .chain(FailureKind::ALL.map(FailureKind::name))
        .collect()
}

/// A finding: the field at fault, and what is wrong with it.
type Problem = (String, String);

/// One of the checks serde cannot make.
type Check = fn(&Scenario) -> Result<(), Problem>;

/// What serde cannot check, one check per concern, in the file's order.
fn check(scenario: &Scenario) -> Result<(), Problem> {
    const CHECKS: &[Check] = &[
        check_schema_version,
        check_name,
        check_client_env,
        check_client_files,
        check_turns,
        check_clients,
        check_transit,
        check_expected_paths,
        check_virtual_seconds,
        check_counted_operations,
        check_error_kind,
        check_something_is_expected,
    ];
    CHECKS.iter().try_for_each(|check| check(scenario))
}

/// A conversation's turns say when they are sent, and leave the prompt
/// and `-p`'s formats to the runner.
fn check_turns(scenario: &Scenario) -> Result<(), Problem> {
    let client = &scenario.client;
    if client.turns.is_empty() {
        return Ok(());
    }
    if client.prompt.is_some() {
        return Err((
            "client.prompt".into(),
            "a conversation's prompts are its `turns`: leave `prompt` out".into(),
        ));
    }
    let taken = [
        "-p",
        "--print",
        "--input-format",
        "--output-format",
        "--verbose",
    ];
    if let Some(arg) = client
        .args
        .iter()
        .find(|a| taken.contains(&a.split('=').next().unwrap_or_default()))
    {
        return Err((
            "client.args".into(),
            format!("`{arg}`: with `turns` the runner gives the conversation's arguments itself"),
        ));
    }
    for (n, turn) in client.turns.iter().enumerate() {
        turn.wait()
            .map_err(|why| (format!("client.turns[{n}].after"), why))?;
    }
    Ok(())
}

/// `[[clients]]`: instead of `[client]`, each named once in kebab-case,
/// starting at a span of time, sharing only an earlier client's HOME,
/// each checked as a scenario of its own would be; the shared `[expect]`
/// holds only what concerns them all.
fn check_clients(scenario: &Scenario) -> Result<(), Problem> {
    if scenario.clients.is_empty() {
        return Ok(());
    }
    if scenario.client != ClientSpec::default() {
        return Err((
            "client".into(),
            "give either `[client]` or `[[clients]]`, not both".into(),
        ));
    }
    check_shared_expect(&scenario.expect)?;
    for (n, named) in scenario.clients.iter().enumerate() {
        let field = |f: &str| format!("clients[{n}].{f}");
        check_name(&Scenario {
            name: named.name.clone(),
            ..scenario.for_client(named)
        })
        .map_err(|(_, why)| (field("name"), why))?;
        let earlier = &scenario.clients[..n];
        if earlier.iter().any(|c| c.name == named.name) {
            return Err((field("name"), format!("`{}` names two clients", named.name)));
        }
        if let Some(start) = &named.start {
            parse_span(start).map_err(|why| (field("start"), why))?;
        }
        check_home_of(named, earlier).map_err(|(f, why)| (field(&f), why))?;
        if !named.spec.transit.is_empty() {
            // Each client has its own listener on the mock; a proxy in
            // front of one is not wired yet, and an ignored `transit`
            // would pass a scenario that tampered with nothing.
            return Err((
                field("transit"),
                "a tampering proxy is for a scenario's single `[client]` so far; give the faulty client a scenario of its own".into(),
            ));
        }
        let view = scenario.for_client(named);
        CLIENT_CHECKS
            .iter()
            .try_for_each(|check| check(&view))
            .map_err(|(f, why)| {
                let f = f.strip_prefix("client.").unwrap_or(&f).to_owned();
                (field(&f), why)
            })?;
    }
    Ok(())
}

/// The checks each of several clients passes as a scenario of its own.
const CLIENT_CHECKS: &[Check] = &[
    check_client_env,
    check_client_files,
    check_turns,
    check_expected_paths,
    check_virtual_seconds,
    check_counted_operations,
    check_error_kind,
    check_something_is_expected,
];

/// A client that uses another's HOME names one listed before it, and
/// leaves the files in it to that one.
fn check_home_of(named: &NamedClient, earlier: &[NamedClient]) -> Result<(), Problem> {
    let Some(owner) = &named.home_of else {
        return Ok(());
    };
    if !earlier
        .iter()
        .any(|c| &c.name == owner && c.home_of.is_none())
    {
        return Err((
            "home_of".into(),
            format!("`{owner}` is not a client listed before this one with a HOME of its own"),
        ));
    }
    let writes = [
        ("files", !named.spec.files.is_empty()),
        ("settings", named.spec.settings != SettingsFiles::default()),
        ("refresh", named.spec.refresh != RefreshSpec::default()),
    ];
    if let Some((field, _)) = writes.into_iter().find(|(_, given)| *given) {
        return Err((
            field.into(),
            format!(
                "this client uses `{owner}`'s HOME, whose files, settings and refresh commands are `{owner}`'s: give them there"
            ),
        ));
    }
    Ok(())
}

/// The shared `[expect]` of several clients: about the journal and the
/// counts; a client's exit, output, clock and files are its own.
fn check_shared_expect(expect: &Expect) -> Result<(), Problem> {
    let own = [
        ("exit", expect.exit.is_some()),
        ("error", expect.error.is_some()),
        ("stdout", !expect.stdout.is_empty()),
        ("stderr", !expect.stderr.is_empty()),
        ("stdout_lacks", !expect.stdout_lacks.is_empty()),
        ("stderr_lacks", !expect.stderr_lacks.is_empty()),
        ("stdout_exact", expect.stdout_exact.is_some()),
        ("stderr_exact", expect.stderr_exact.is_some()),
        ("virtual_seconds", expect.virtual_seconds.is_some()),
        ("files", !expect.files.is_empty()),
        ("files_lack", !expect.files_lack.is_empty()),
    ];
    match own.into_iter().find(|(_, given)| *given) {
        Some((name, _)) => Err((
            format!("expect.{name}"),
            "with `[[clients]]` this is each client's: say it in `[clients.expect]`".into(),
        )),
        None => Ok(()),
    }
}

fn check_schema_version(scenario: &Scenario) -> Result<(), Problem> {
    if scenario.schema == SCHEMA_VERSION {
        return Ok(());
    }
    Err((
        "schema".into(),
        format!(
            "this runner reads schema {SCHEMA_VERSION}, the file says {}",
            scenario.schema
        ),
    ))
}

fn check_name(scenario: &Scenario) -> Result<(), Problem> {
    let name = &scenario.name;
    if is_scenario_name(name) {
        return Ok(());
    }
    Err(("name".into(), format!("`{name}` {NOT_A_NAME}")))
}

/// Whether `name` is a scenario's name: kebab-case, lowercase letters and
/// digits in words joined by `-` (a report's number may come first:
/// `403-after-rotation`).
pub fn is_scenario_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// What a name [`is_scenario_name`] refuses is told.
pub const NOT_A_NAME: &str =
    "is not a kebab-case name (lowercase letters and digits, in words joined by single `-`)";

/// The environment (the client's, and the settings files' `env`) keeps
/// every endpoint on the mock.
fn check_client_env(scenario: &Scenario) -> Result<(), Problem> {
    let client = &scenario.client;
    let settings_env = client
        .settings
        .env()
        .map(|(k, v)| (format!("client.settings.*.env.{k}"), k, v));
    let env = client
        .env
        .iter()
        .map(|(k, v)| (format!("client.env.{k}"), k.clone(), v.clone()));
    for (field, name, value) in env.chain(settings_env) {
        if is_endpoint_variable(&name) && !is_on_the_mock(&value) {
            return Err((
                field,
                format!(
                    "{name} names a place to connect to; a scenario may only point it at the mock (`{{mock}}` or `{{mock}}/...`), never off this machine"
                ),
            ));
        }
        if FORBIDDEN_VARIABLES.contains(&name.as_str()) {
            return Err((
                field,
                format!("{name} would make the client ignore the mock's endpoints; leave it out"),
            ));
        }
    }
    Ok(())
}

/// Files stay inside HOME, and the endpoints they name on the mock.
fn check_client_files(scenario: &Scenario) -> Result<(), Problem> {
    for (path, text) in &scenario.client.files {
        let field = format!("client.files.\"{path}\"");
        check_inside_home(&field, path)?;
        let off_the_mock = text.lines().find(|line| {
            line.split_once('=').is_some_and(|(key, value)| {
                key.trim().to_ascii_lowercase().ends_with("endpoint_url")
                    && !is_on_the_mock(value.trim())
            })
        });
        if let Some(line) = off_the_mock {
            return Err((
                field,
                format!(
                    "`{}` points off the mock; use `{{mock}}` or `{{mock}}/...`",
                    line.trim()
                ),
            ));
        }
    }
    Ok(())
}

/// The proxy can send what the transit says: header names and values
/// HTTP can carry, a service to sign for, keys it knows the secrets of.
fn check_transit(scenario: &Scenario) -> Result<(), Problem> {
    let transit = &scenario.client.transit;
    let named = [
        (
            "set_headers",
            transit.set_headers.keys().collect::<Vec<_>>(),
        ),
        ("remove_headers", transit.remove_headers.iter().collect()),
    ];
    for (table, names) in named {
        if let Some(name) = names
            .into_iter()
            .find(|n| http::HeaderName::from_bytes(n.as_bytes()).is_err())
        {
            return Err((
                format!("client.transit.{table}"),
                format!("`{name}` is not an HTTP header name"),
            ));
        }
    }
    if let Some((name, value)) = transit
        .set_headers
        .iter()
        .find(|(_, v)| http::HeaderValue::from_str(v).is_err())
    {
        return Err((
            format!("client.transit.set_headers.{name}"),
            format!("{value:?} cannot be sent as a header value (control characters or non-ASCII)"),
        ));
    }
    match &transit.resign_service {
        Some(service) if service.is_empty() || service.contains(['/', ' ']) => Err((
            "client.transit.resign_service".into(),
            format!("`{service}` is not a SigV4 service name (like `bedrock` or `execute-api`)"),
        )),
        Some(_) if scenario.server.credentials.is_empty() => Err((
            "client.transit.resign_service".into(),
            "signing again needs the secret of the client's key, from the account's `server.credentials`, which is empty".into(),
        )),
        _ => Ok(()),
    }
}

fn check_expected_paths(scenario: &Scenario) -> Result<(), Problem> {
    let expect = &scenario.expect;
    let files = expect.files.keys().map(|p| ("files", p));
    let lacking = expect.files_lack.keys().map(|p| ("files_lack", p));
    files.chain(lacking).try_for_each(|(table, path)| {
        check_inside_home(&format!("expect.{table}.\"{path}\""), path)
    })
}

fn check_virtual_seconds(scenario: &Scenario) -> Result<(), Problem> {
    match scenario.expect.virtual_seconds {
        Some(seconds) if !(seconds.is_finite() && seconds >= 0.0) => Err((
            "expect.virtual_seconds".into(),
            format!("{seconds} is not a number of seconds (0 or more)"),
        )),
        _ => Ok(()),
    }
}

/// The fake account passes the checks every config passes, whichever way
/// it comes in (`ServerConfig::check`): its fields sit under `server.`.
/// Run after the scenario's own checks, as its findings carry a kind.
fn check_server(scenario: &Scenario) -> Result<(), (Problem, ConfigErrorKind)> {
    scenario.server.check().map_err(|e| {
        let field = e
            .field
            .map_or("server".to_owned(), |f| format!("server.{f}"));
        ((field, e.message), e.kind)
    })
}

/// Operations are keys of `expect.counts.operations`, so serde cannot
/// check their names.
fn check_counted_operations(scenario: &Scenario) -> Result<(), Problem> {
    match scenario
        .expect
        .counts
        .operations
        .keys()
        .find(|name| Operation::named(name).is_none())
    {
        Some(name) => Err((
            format!("expect.counts.operations.{name}"),
            format!(
                "`{name}` is not an operation the mock knows (e.g. InvokeModel, InvokeModelWithResponseStream, MantleMessagesStream, GetCallerIdentity)"
            ),
        )),
        None => Ok(()),
    }
}

fn check_error_kind(scenario: &Scenario) -> Result<(), Problem> {
    match &scenario.expect.error {
        Some(kind) if !names_a_failure_kind(kind) => Err((
            "expect.error".into(),
            format!(
                "`{kind}` is not a failure kind; one of {}",
                failure_kinds().join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// A scenario must check something of the run: without an expectation it
/// would pass even when the client failed to start. (`no_secrets` is on
/// by default and holds for a client that never ran, so it does not
/// count; nor does `order`, which only says how `requests` compare.)
fn check_something_is_expected(scenario: &Scenario) -> Result<(), Problem> {
    if expects_something(&scenario.expect) || !scenario.clients.is_empty() {
        return Ok(());
    }
    Err((
        "expect".into(),
        "the scenario checks nothing of the run, so it would pass even if the client failed to start: add an `[expect]` table with at least `exit` (and what the client prints, or the requests the mock must see)".to_owned(),
    ))
}

/// Whether `expect` checks anything of a run. Every field is named, so a
/// new one cannot be left out.
fn expects_something(expect: &Expect) -> bool {
    let Expect {
        exit,
        error,
        stdout,
        stderr,
        stdout_lacks,
        stdout_exact,
        stderr_exact,
        stderr_lacks,
        requests,
        order: _,
        counts,
        files,
        files_lack,
        virtual_seconds,
        no_secrets: _,
    } = expect;
    let Counts {
        requests: request_count,
        operations,
        retries,
        exports,
        auth_refreshes,
        sts_checks,
        chain_loads,
        credentials_issued,
    } = counts;
    let counted = [
        request_count,
        retries,
        exports,
        auth_refreshes,
        sts_checks,
        chain_loads,
        credentials_issued,
    ]
    .iter()
    .any(|c| c.is_some());
    exit.is_some()
        || error.is_some()
        || stdout_exact.is_some()
        || stderr_exact.is_some()
        || virtual_seconds.is_some()
        || [stdout, stderr, stdout_lacks, stderr_lacks]
            .iter()
            .any(|texts| !texts.is_empty())
        || !requests.is_empty()
        || counted
        || !operations.is_empty()
        || !files.is_empty()
        || !files_lack.is_empty()
}

/// Paths under HOME must stay there: relative, without `..`.
pub(crate) fn check_inside_home(field: &str, path: &str) -> Result<(), Problem> {
    let relative = Path::new(path);
    let escapes = relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)));
    if escapes || path.is_empty() {
        return Err((
            field.to_owned(),
            format!("`{path}` must be a path inside HOME, like `.aws/config` (relative, no `..`)"),
        ));
    }
    Ok(())
}

/// The name must be the file's stem, so a report's name finds its file.
fn name_is_stem(path: &Path, name: &str) -> Result<(), (String, String)> {
    match path.file_stem().and_then(|s| s.to_str()) {
        Some(stem) if stem != name => Err((
            "name".into(),
            format!("`{name}` must be the file's name without `.toml`: `{stem}`"),
        )),
        _ => Ok(()),
    }
}

/// 1-based line and column of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where `field` (`expect.error`, `server.rules[1].stall.seconds`) is set
/// in `text`: the table's own header when the field is a table
/// (`[expect]`); else its key after the header of its table (`[expect]`,
/// or the second `[[server.rules]]`) when there is one, else its first
/// setting anywhere.
fn find_field(text: &str, field: &str) -> Option<(usize, usize)> {
    let segments = segments(field);
    let plain: Vec<&str> = segments.iter().map(|s| unindexed(s)).collect();
    if let Some(at) = header_line(text, &format!("[{}]", plain.join(".")), 0) {
        return Some(line_column(text, at));
    }
    let (key, tables) = segments.split_last()?;
    let from = table_body(text, tables).unwrap_or(0);
    let (line, column) = find_key(&text[from..], unindexed(key))?;
    let lines_before = text[..from].matches('\n').count();
    Some((lines_before + line, column))
}

/// The parts of a field path, split at dots outside quotes:
/// `model_state."a.b"` is `model_state` and `"a.b"`.
fn segments(field: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (at, c) in field.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => {
                out.push(&field[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    out.push(&field[start..]);
    out
}

/// A segment without its indices: `rules[1]` is `rules`.
fn unindexed(segment: &str) -> &str {
    match segment.find('[') {
        Some(at) if !segment.starts_with('"') => &segment[..at],
        _ => segment,
    }
}

/// A segment's last index: `rules[1]` is 1.
fn index_of(segment: &str) -> Option<usize> {
    let inner = segment.strip_suffix(']')?;
    inner.rsplit_once('[')?.1.parse().ok()
}

/// Where the lines of table `tables` start: after its `[a.b]` header, or
/// after the right `[[a.b]]` header for an element of an array of tables.
fn table_body(text: &str, tables: &[&str]) -> Option<usize> {
    let plain: Vec<&str> = tables.iter().map(|s| unindexed(s)).collect();
    let Some(last_indexed) = tables.iter().rposition(|s| index_of(s).is_some()) else {
        let header = format!("[{}]", plain.join("."));
        return header_line(text, &header, 0).map(|at| next_line(text, at));
    };
    let header = format!("[[{}]]", plain[..=last_indexed].join("."));
    let n = index_of(tables[last_indexed])?;
    let mut from = 0;
    for _ in 0..=n {
        from = next_line(text, header_line(text, &header, from)?);
    }
    Some(from)
}

/// The offset of the first line at or after `from` that is `header`.
fn header_line(text: &str, header: &str, from: usize) -> Option<usize> {
    let mut offset = from;
    for line in text[from..].split_inclusive('\n') {
        if line.trim() == header {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// The offset of the line after the one at `at`.
fn next_line(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |n| at + n + 1)
}

/// Where key `key` is first set in `text`, for errors found after
/// parsing: `key =` at a line's start, after a `.` of a dotted key, or
/// inside an inline table; the key may be quoted.
fn find_key(text: &str, key: &str) -> Option<(usize, usize)> {
    let key = key.trim_matches('"');
    for candidate in [key.to_owned(), format!("\"{key}\"")] {
        let mut from = 0;
        while let Some(found) = text[from..].find(&candidate) {
            let at = from + found;
            let before = text[..at].chars().next_back();
            let after = text[at + candidate.len()..].trim_start_matches([' ', '\t']);
            let starts_key =
                before.is_none_or(|c| matches!(c, '\n' | ' ' | '\t' | '.' | '{' | ','));
            if starts_key && after.starts_with('=') {
                return Some(line_column(text, at));
            }
            from = at + candidate.len();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const MINIMAL: &str = "schema = 1\nname = \"x\"\ndescription = \"d\"\nsource = \"s\"\n";

    /// The least a scenario must check.
    const EXPECT_EXIT: &str = "[expect]\nexit = 0\n";

    fn error(text: &str) -> String {
        parse(Path::new("scenarios/x.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_minimal_file_is_the_default_account_and_a_prompt() {
        let minimal = format!("{MINIMAL}{EXPECT_EXIT}");
        let s = parse(Path::new("x.toml"), &minimal).unwrap();
        let e = parse(Path::new("y.toml"), &minimal)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`x` must be the file's name without `.toml`: `y`"),
            "{e}"
        );
        assert_eq!(s.server, bedrock_mock_server::ServerConfig::default());
        assert!(s.expect.no_secrets);
    }

    #[test]
    fn unknown_keys_name_file_line_column_and_field() {
        let text = format!("{MINIMAL}[server]\nregoins = [\"us-west-2\"]\n");
        let e = error(&text);
        assert!(e.starts_with("scenarios/x.toml:6:1: field `server"), "{e}");
        assert!(e.contains("unknown field `regoins`"), "{e}");
    }

    #[test]
    fn nested_type_errors_name_the_field_path() {
        let text = format!("{MINIMAL}[[server.rules]]\nanswer = {{ error = {{ code = 7 }} }}\n");
        let e = error(&text);
        assert!(
            e.contains("field `server.rules[0].answer.error.code`"),
            "{e}"
        );
        assert!(e.contains(":6:"), "{e}");
    }

    #[test]
    fn a_transit_the_proxy_cannot_send_is_refused_where_read() {
        for (transit, field, why) in [
            (
                "set_headers = { \"bad name\" = \"x\" }",
                "client.transit.set_headers",
                "not an HTTP header name",
            ),
            (
                "remove_headers = [\"a:b\"]",
                "client.transit.remove_headers",
                "not an HTTP header name",
            ),
            (
                "set_headers = { x-a = \"line\\nbreak\" }",
                "client.transit.set_headers.x-a",
                "cannot be sent",
            ),
            (
                "resign_service = \"\"",
                "client.transit.resign_service",
                "not a SigV4 service name",
            ),
        ] {
            let text = format!("{MINIMAL}[client.transit]\n{transit}\n{EXPECT_EXIT}");
            let e = error(&text);
            assert!(e.contains(&format!("field `{field}`")), "{transit}: {e}");
            assert!(e.contains(why), "{transit}: {e}");
        }
        let e = error(&format!(
            "{MINIMAL}[server]\ncredentials = []\napi_keys = [{{ key = \"k\" }}]\n[client.transit]\nresign_service = \"bedrock\"\n{EXPECT_EXIT}"
        ));
        assert!(e.contains("needs the secret"), "{e}");
        let typo = error(&format!(
            "{MINIMAL}[client.transit]\nset_header = {{}}\n{EXPECT_EXIT}"
        ));
        assert!(typo.contains("unknown field `set_header`"), "{typo}");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = error("schema = 1\nname = \"x\nsource = 1\n");
        assert!(e.starts_with("scenarios/x.toml:2:"), "{e}");
    }

    #[test]
    fn checks_after_parsing_name_the_field() {
        let e = error(&MINIMAL.replace("schema = 1", "schema = 2"));
        assert!(
            e.contains("field `schema`") && e.contains("reads schema 1"),
            "{e}"
        );
        let e = error(&format!(
            "{MINIMAL}[client.env]\nANTHROPIC_BEDROCK_BASE_URL = \"https://bedrock-runtime.us-east-1.amazonaws.com\"\n"
        ));
        assert!(
            e.contains(":6:1: field `client.env.ANTHROPIC_BEDROCK_BASE_URL`"),
            "{e}"
        );
        let e = error(&format!(
            "{MINIMAL}[expect.counts.operations]\nInvoke = 1\n"
        ));
        assert!(e.contains("`Invoke` is not an operation"), "{e}");
        let e = error(&format!(
            "{MINIMAL}[[server.rules]]\nwhen = {{ operation = \"InvokeModel\" }}\nstall = {{ seconds = -1 }}\n{EXPECT_EXIT}"
        ));
        assert!(
            e.contains("field `server.rules[0].stall.seconds`") && e.contains("-1 is not a stall"),
            "{e}"
        );
        let e = error(&format!(
            "{MINIMAL}[[server.rules]]\nwhen = {{ operation = \"InvokeModel\" }}\ndribble = {{ bytes = 0 }}\n{EXPECT_EXIT}"
        ));
        assert!(
            e.contains("field `server.rules[0].dribble.bytes`") && e.contains("give 1 or more"),
            "{e}"
        );
        let e = error(&format!(
            "{MINIMAL}[[server.rules]]\nwhen = {{ operation = \"InvokeModel\" }}\ndribble = {{ bytes = 1, every_ms = 5000 }}\n{EXPECT_EXIT}"
        ));
        assert!(
            e.contains("field `server.rules[0].dribble.every_ms`") && e.contains("use `stall`"),
            "{e}"
        );
        // A dotted key is found too.
        let e = error(&format!(
            "{MINIMAL}client.env.AWS_ENDPOINT_URL_STS = \"{{mock}}@127.0.0.2:9\"\n"
        ));
        assert!(
            e.contains(":5:12: field `client.env.AWS_ENDPOINT_URL_STS`"),
            "{e}"
        );
    }

    #[test]
    fn a_conversations_turns_are_read_and_their_mistakes_named() {
        let two = "[client]\nturns = [{ prompt = \"a\" }, { prompt = \"b\", after = \"1h30m\" }]\n";
        let scenario = parse(
            Path::new("scenarios/x.toml"),
            &format!("{MINIMAL}{two}{EXPECT_EXIT}"),
        )
        .unwrap();
        let waits: Vec<_> = scenario
            .client
            .turns
            .iter()
            .map(|t| t.wait().unwrap())
            .collect();
        assert_eq!(waits, [Duration::ZERO, Duration::from_secs(5400)]);
        for (client, says) in [
            (
                "[client]\nturns = [{ prompt = \"a\", after = \"8 hours\" }]\n",
                "field `client.turns[0].after`: `8 hours` is not a span of time",
            ),
            (
                "[client]\nprompt = \"p\"\nturns = [{ prompt = \"a\" }]\n",
                "field `client.prompt`",
            ),
            (
                "[client]\nargs = [\"--output-format\", \"json\"]\nturns = [{ prompt = \"a\" }]\n",
                "`--output-format`: with `turns`",
            ),
        ] {
            let e = error(&format!("{MINIMAL}{client}{EXPECT_EXIT}"));
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn spans_of_time_are_whole_units_largest_first() {
        use super::super::format::parse_span;
        assert_eq!(parse_span("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(
            parse_span("2d1h"),
            Ok(Duration::from_secs(2 * 86_400 + 3_600))
        );
        for bad in ["", "8", "1m1h", "1h1h", "-1s", "1.5h", "h"] {
            assert!(parse_span(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn several_clients_are_named_once_and_share_only_an_earlier_home() {
        let client = |extra: &str| {
            format!(
                "[[clients]]\nname = \"a\"\n[clients.expect]\nexit = 0\n[[clients]]\nname = \"b\"\n{extra}[clients.expect]\nexit = 0\n"
            )
        };
        let ok = parse(
            Path::new("scenarios/x.toml"),
            &format!("{MINIMAL}{}", client("home_of = \"a\"\nstart = \"2h\"\n")),
        )
        .unwrap();
        assert_eq!(ok.clients[1].home_of.as_deref(), Some("a"));
        for (text, says) in [
            (client("home_of = \"c\"\n"), "field `clients[1].home_of`"),
            (
                client("home_of = \"a\"\nfiles = { \".aws/config\" = \"x\" }\n"),
                "field `clients[1].files`",
            ),
            (client("start = \"soon\"\n"), "field `clients[1].start`"),
            (
                client("").replace("name = \"b\"", "name = \"a\""),
                "`a` names two clients",
            ),
            (
                format!("{}[expect]\nexit = 0\n", client("")),
                "field `expect.exit`: with `[[clients]]`",
            ),
            (
                format!("[client]\nprompt = \"p\"\n{}", client("")),
                "either `[client]` or `[[clients]]`",
            ),
            (
                client("").replace("[clients.expect]\nexit = 0\n[[clients]]", "[[clients]]"),
                "field `clients[0].expect`",
            ),
        ] {
            let e = error(&format!("{MINIMAL}{text}"));
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn nothing_may_point_off_the_mock_or_out_of_home() {
        for (text, says) in [
            (
                "[client.env]\nHTTPS_PROXY = \"http://proxy.example.com:3128\"\n",
                "HTTPS_PROXY names a place to connect to",
            ),
            (
                "[client.settings.user.env]\nANTHROPIC_BEDROCK_BASE_URL = \"https://bedrock-runtime.us-east-1.amazonaws.com\"\n",
                "field `client.settings.*.env.ANTHROPIC_BEDROCK_BASE_URL`",
            ),
            (
                "[client.env]\nAWS_IGNORE_CONFIGURED_ENDPOINT_URLS = \"true\"\n",
                "would make the client ignore the mock's endpoints",
            ),
            (
                "[client.files]\n\".aws/config\" = \"[default]\\nendpoint_url = https://example.com\\n\"\n",
                "points off the mock",
            ),
            (
                "[client.files]\n\"../outside\" = \"x\"\n",
                "must be a path inside HOME",
            ),
            (
                "[expect.files]\n\"/etc/hostname\" = [\"x\"]\n",
                "must be a path inside HOME",
            ),
        ] {
            let e = error(&format!("{MINIMAL}{text}"));
            assert!(e.contains(says), "{text}: {e}");
        }
        let fine = format!(
            "{MINIMAL}[client.env]\nAWS_ENDPOINT_URL_STS = \"{{mock}}/sts\"\n{EXPECT_EXIT}"
        );
        assert!(parse(Path::new("x.toml"), &fine).is_ok());
    }

    #[test]
    fn a_key_is_found_under_its_own_table() {
        let text = format!(
            "{MINIMAL}[[server.rules]]\nanswer = {{ error = {{ code = \"ThrottlingException\" }} }}\n[expect]\nexit = 1\nerror = \"nope\"\n"
        );
        let e = error(&text);
        assert!(e.contains(":9:1: field `expect.error`"), "{e}");
        assert!(
            e.contains("`nope` is not a failure kind; one of none, usage, missing-variable, invalid-variable, settings, no-provider, command, credentials, signing, request, connection, timeout, retryable, model-access, on-demand-throughput, final, stream"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_error_code_is_refused_where_it_is_written() {
        let text = format!(
            "{MINIMAL}[[server.rules]]\nanswer = {{ error = {{ code = \"ThrottlingExeption\" }} }}\n"
        );
        let e = error(&text);
        assert!(
            e.contains(":6:29: field `server.rules[0].answer.error.code`: `ThrottlingExeption` is not an error the mock knows; known codes: ValidationException, "),
            "{e}"
        );
        let text = format!(
            "{MINIMAL}[[server.rules]]\nanswer = {{ stream_exception = {{ after_events = 1, exception = \"ThrottlingException\" }} }}\n"
        );
        let e = error(&text);
        assert!(
            e.contains("field `server.rules[0].answer.stream_exception.exception`")
                && e.contains("is `throttlingException`"),
            "{e}"
        );
    }

    #[test]
    fn a_scenario_that_checks_nothing_is_refused_saying_what_to_add() {
        let e = error(MINIMAL);
        assert_eq!(
            e,
            "scenarios/x.toml: field `expect`: the scenario checks nothing of the run, so it would pass even if the client failed to start: add an `[expect]` table with at least `exit` (and what the client prints, or the requests the mock must see)"
        );
        // An empty table, or one with only what holds for a client that
        // never ran, is refused at its header.
        for empty in [
            "[expect]\n",
            "[expect]\nno_secrets = true\norder = \"set\"\n",
        ] {
            let e = error(&format!("{MINIMAL}{empty}"));
            assert!(
                e.starts_with("scenarios/x.toml:5:1: field `expect`: the scenario checks nothing"),
                "{e}"
            );
        }
        for enough in [
            "[expect]\nstdout = [\"hi\"]\n",
            "[expect.counts]\nrequests = 0\n",
            "[[expect.requests]]\noperation = \"InvokeModel\"\n",
            "[expect.counts.operations]\nInvokeModel = 1\n",
        ] {
            let text = format!("{MINIMAL}{enough}");
            assert!(parse(Path::new("x.toml"), &text).is_ok(), "{enough}");
        }
    }

    #[test]
    fn the_server_is_held_to_the_checks_of_every_config() {
        for (server, at) in [
            (
                "[server.pace]\nbetween_events_ms = 18446744073709551615\n",
                ":6:1: field `server.pace.between_events_ms`: 18446744073709551615 ms is past the 10000 ms",
            ),
            (
                "[server]\npace = { first_byte_ms = 60000 }\n",
                ":6:10: field `server.pace.first_byte_ms`: 60000 ms is past the 10000 ms",
            ),
            (
                "[server]\nregions = []\n",
                ":6:1: field `server.regions`: an account must serve",
            ),
            (
                "[server.model_state]\n\"anthropic.claude-opus-9\" = \"not_found\"\n",
                ":6:1: field `server.model_state.\"anthropic.claude-opus-9\"`: `anthropic.claude-opus-9` is not the id",
            ),
            (
                "[[server.rules]]\nstall = { seconds = 1 }\n[[server.rules]]\nstall = { seconds = nan }\n",
                ":8:11: field `server.rules[1].stall.seconds`: NaN is not a stall",
            ),
            (
                "[[server.rules]]\nanswer = { http = { status = 200, headers = { \"content-length\" = \"2\" } } }\n",
                ":6:47: field `server.rules[0].answer.http.headers.content-length`: the server frames the body itself",
            ),
        ] {
            let e = error(&format!("{MINIMAL}{server}{EXPECT_EXIT}"));
            assert!(e.contains(at), "{server}: {e}");
        }
        // The finding keeps its kind, as on every other way in.
        let text = format!("{MINIMAL}[server]\nregions = []\n{EXPECT_EXIT}");
        let e = parse(Path::new("scenarios/x.toml"), &text).unwrap_err();
        assert_eq!(e.kind, Some(ConfigErrorKind::Empty));
        let own = parse(Path::new("scenarios/x.toml"), MINIMAL).unwrap_err();
        assert_eq!(
            own.kind, None,
            "a scenario's own check has no config kind: {own}"
        );
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let e = error("schema = 1\nname = \"x\"\ndescription = \"d\"\n");
        assert!(e.contains("missing field `source`"), "{e}");
    }
}
