//! Captures of real traffic turned into scenarios: `bedrock-harness
//! record` (a proxy between a client and AWS) and `import` (a HAR file, a
//! proxy log, an event-stream body).
//!
//! Layers, each using only those before it: vocabulary (`exchange`) → reading (`redact`, `stream`) → writing (`client_side`, `write`) → capturing (`import`, `proxy`).

mod client_side;
pub mod exchange;
pub mod import;
pub mod proxy;
pub mod redact;
mod stream;
pub mod write;
