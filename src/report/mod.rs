//! `bedrock-harness run --report FILE`: one self-contained HTML page of a
//! run of scenarios, for a support engineer to attach to a ticket. At the
//! top, a summary (the client, the totals, a row per scenario with its
//! first difference); then each scenario, collapsible (failures open):
//! its differences, a timeline of its requests on the run's clock
//! ([`timeline`]), the requests in a table with their error messages, what
//! the client printed and how it ended, and what could not be checked.
//!
//! The page reads only [`Report`]s and the [`Recording`] each keeps, whose
//! texts already have the scenario's secrets hidden; it fetches nothing
//! (its style and script are inline, the timeline inline SVG), so it opens
//! anywhere, offline.
//!
//! [`Recording`]: crate::scenario::record::Recording

pub mod page;
pub mod timeline;

use std::time::SystemTime;

use crate::scenario::Report;

/// The page of `reports`, written at `generated`.
pub fn html(reports: &[Report], generated: SystemTime) -> String {
    page::render(reports, generated)
}
