//! Models: the catalogue ([`Catalogue`]), how a choice resolves to an id
//! and endpoint ([`Resolver`]), the request shape each model takes
//! ([`turn_request`]), the startup checks with their fallback
//! ([`startup`]), and the ladders a refused turn moves down ([`ladder`]).

mod catalogue;
pub mod ladder;
mod resolve;
mod shape;
pub mod startup;

pub use catalogue::{
    BUILT_IN, Catalogue, Family, GEOGRAPHIES, Lineup, Model, Retirement, Shape, ThinkingKind,
    geography_for, strip_geography,
};
pub use resolve::{Resolved, Resolver, Source};
pub use shape::turn_request;
