//! `simulate`: the simulated marketplace served on 127.0.0.1 until stopped;
//! in a build without the `simulator` feature, what `demo` and `simulate`
//! say instead.

#[cfg(feature = "simulator")]
use std::io::Write;
#[cfg(feature = "simulator")]
use std::process::ExitCode;

#[cfg(feature = "simulator")]
use anyhow::{Context, Result};

#[cfg(feature = "simulator")]
use super::UsageError;

/// `simulate`: serves until Ctrl-C, after one line saying where and how.
#[cfg(feature = "simulator")]
pub(super) async fn simulate(
    port: u16,
    seed: u64,
    roles: u64,
    page_size: usize,
    browser_required: bool,
) -> Result<ExitCode> {
    let max = crate::sim::MAX_ROLES;
    let roles = usize::try_from(roles)
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| {
            UsageError(format!(
                "--roles {roles} is more than the simulator holds: give a number from 0 to {max}"
            ))
        })?;
    let options = crate::sim::SimOptions {
        seed,
        roles,
        page_size: (page_size > 0).then_some(page_size),
        boards: true,
        browser_required,
        ..Default::default()
    };
    let paging = match options.page_size {
        Some(size) => format!(", pages of {size}"),
        None => String::new(),
    };
    say!(
        "simulated Paraform on http://127.0.0.1:{port} (seed {seed}, {roles} roles{paging}{}); session token {:?}; `air-demand session login` signs in at http://127.0.0.1:{port}/login; Ctrl-C stops it",
        if browser_required {
            ", browser required"
        } else {
            ""
        },
        options.session_token
    )?;
    for board in crate::sim::boards_of(&options) {
        say!(
            "  company board: [[companies]] name = {:?}, {} = {:?} (every API at the same address)",
            board.company,
            board.kind.source(),
            board.board
        )?;
    }
    for site in crate::sim::careers_of(&options) {
        say!(
            "  careers page: [[companies]] name = {:?}, careers = \"http://127.0.0.1:{port}/careers-sites/{}\"",
            site.company,
            site.site
        )?;
    }
    tokio::select! {
        served = crate::sim::serve_forever(options, port) => served.with_context(|| format!("serving on 127.0.0.1:{port}"))?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// What `demo` and `simulate` say in a build without the `simulator` feature.
#[cfg(not(feature = "simulator"))]
pub(super) fn without_simulator(what: &str) -> String {
    format!(
        "this air-demand was built without the simulated marketplace: build it with the default features (cargo build --release) to run {what}"
    )
}
