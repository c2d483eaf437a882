//! A build without the `browser` feature: there is no browser to fetch
//! through, so `[paraform] fetch = "auto"` stays direct and `"browser"`
//! fails the source with one line that says how to get one.

use std::path::Path;
use std::time::Duration;

use super::{BodyLimit, FetchError, HttpClient, RawResponse};
use crate::session::Session;

/// Never made: [`PageFetcher::open`] always refuses.
pub enum PageFetcher {}

impl PageFetcher {
    pub async fn open(
        _executable: &Path,
        _base_url: &str,
        _session: &Session,
        _timeout: Duration,
    ) -> Result<PageFetcher, FetchError> {
        Err(FetchError::Browser(
            "this air-demand was built without browser support (the `browser` cargo feature): build it with the default features to fetch through Chromium".into(),
        ))
    }

    pub async fn get(
        &self,
        _client: &HttpClient,
        _url: &str,
        _procedure: &str,
        _limit: BodyLimit,
    ) -> Result<RawResponse, FetchError> {
        match *self {}
    }

    pub async fn close(self) {
        match self {}
    }
}
