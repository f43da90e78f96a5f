//! Captures of real traffic turned into scenarios: `bedrock-harness
//! record` (a proxy between a client and AWS) and `import` (a HAR file, a
//! proxy log, an event-stream body).
//!
//! Layers, each using only those before it: vocabulary (`exchange`) →
//! redacting (`redact`) → writing (`write`) → capturing (`import`, `proxy`).

pub mod exchange;
pub mod redact;
