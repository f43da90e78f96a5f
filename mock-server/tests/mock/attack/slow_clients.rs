//! Slow and stopped clients, and memory: a reader that stops reading is
//! closed after a write timeout, and the journal stays within its limits.
