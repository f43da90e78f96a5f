//! Malformed HTTP and half-closed connections: each request is answered
//! (or refused) and journaled, none lost, nothing panics or hangs.
