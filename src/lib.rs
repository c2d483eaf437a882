//! air-demand: watch a recruiting marketplace, keep every role and every
//! version of it in one SQLite file, and publish what changed.
//!
//! The pipeline is `fetch → store → track → (evaluate → publish)`, one module
//! per stage; `scrape` strings the stages of one run together and `cli` is
//! the glue for the binary. See ARCHITECTURE.md.
//!
//! `sim` (the simulated marketplace) and `demo` exist only with the
//! `simulator` feature (on by default); production code never uses them.

pub mod alerts;
pub mod assess;
#[cfg(feature = "browser")]
pub mod browser;
pub mod careers;
pub mod cli;
pub mod company;
pub mod config;
#[cfg(feature = "simulator")]
pub mod demo;
pub mod digest;
pub mod discover;
pub mod evaluate;
pub mod fetch;
pub mod health;
pub mod intel;
pub mod llm;
pub mod lock;
#[cfg(feature = "browser")]
pub mod login;
pub mod logs;
pub mod patch;
pub mod progress;
pub mod role;
pub mod rules;
pub mod schedule;
pub mod scrape;
pub mod session;
#[cfg(feature = "simulator")]
pub mod sim;
pub mod site;
pub mod spool;
pub mod store;
pub mod text;
pub mod toml_error;
pub mod track;
pub mod views;
pub mod vocab;
