//! Not part of the API: the pieces the workspace's benches and fuzz
//! targets drive directly, below a session. Hidden from the docs; they may
//! change with any commit.

pub use crate::request::MessagesRequest;
pub use crate::stream::read_mantle_pieces;
pub use crate::turn::{prompt_request, run_turn};
