//! The `careers_pages` table: what each careers page answered when last
//! read (its validators, the postings it carried, the job pages it linked),
//! and each careers host's `robots.txt`.

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Db, StoreTx};

/// One page as last read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CareersPage {
    pub url: String,
    pub host: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub checked_at: String,
    /// The postings it carried, by external id (`<host>/<id>`).
    pub postings: Vec<CachedPosting>,
    /// The job pages a listing linked (a listing that carried no postings).
    pub links: Vec<String>,
    /// A `robots.txt`'s text (empty when the site has none).
    pub robots: Option<String>,
}

/// A posting a page carried: its external id and `validThrough`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CachedPosting {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_through: Option<String>,
}

impl Db {
    /// The pages of `host` as last read, by URL. A row whose JSON does not
    /// read (edited by hand) reads as carrying nothing and has no
    /// validators, so it is asked for in full again.
    pub fn careers_pages(&self, host: &str) -> Result<HashMap<String, CareersPage>> {
        let mut stmt = self.conn.prepare(
            "SELECT url, host, etag, last_modified, checked_at, postings, links, robots
             FROM careers_pages WHERE host = ?1",
        )?;
        let rows = stmt.query_map(params![host], |r| {
            let postings: String = r.get("postings")?;
            let links: String = r.get("links")?;
            let (postings, links) = match (
                serde_json::from_str(&postings),
                serde_json::from_str(&links),
            ) {
                (Ok(postings), Ok(links)) => (Some(postings), links),
                _ => (None, Vec::new()),
            };
            let readable = postings.is_some();
            Ok(CareersPage {
                url: r.get("url")?,
                host: r.get("host")?,
                etag: r.get::<_, Option<String>>("etag")?.filter(|_| readable),
                last_modified: r
                    .get::<_, Option<String>>("last_modified")?
                    .filter(|_| readable),
                checked_at: r.get("checked_at")?,
                postings: postings.unwrap_or_default(),
                links,
                robots: r.get("robots")?,
            })
        })?;
        let mut pages = HashMap::new();
        for page in rows {
            let page = page?;
            pages.insert(page.url.clone(), page);
        }
        Ok(pages)
    }
}

impl StoreTx<'_> {
    /// Keeps what `page` answered, replacing what it answered before.
    pub fn save_careers_page(&self, page: &CareersPage) -> Result<()> {
        self.execute(
            "INSERT INTO careers_pages (url, host, etag, last_modified, checked_at, postings, links, robots)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (url) DO UPDATE SET host = excluded.host, etag = excluded.etag,
                 last_modified = excluded.last_modified, checked_at = excluded.checked_at,
                 postings = excluded.postings, links = excluded.links, robots = excluded.robots",
            params![
                page.url,
                page.host,
                page.etag,
                page.last_modified,
                page.checked_at,
                serde_json::to_string(&page.postings)?,
                serde_json::to_string(&page.links)?,
                page.robots,
            ],
        )?;
        Ok(())
    }

    /// Forgets a page that is no more (it answered 404 or 410).
    pub fn forget_careers_page(&self, url: &str) -> Result<()> {
        self.execute("DELETE FROM careers_pages WHERE url = ?1", params![url])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_back_as_saved_and_is_forgotten() {
        let mut db = Db::open_in_memory().unwrap();
        let page = CareersPage {
            url: "https://acme.com/careers".into(),
            host: "acme.com".into(),
            etag: Some("\"abc\"".into()),
            last_modified: Some("Tue, 01 Dec 2026 10:00:00 GMT".into()),
            checked_at: "2026-12-01T10:00:00Z".into(),
            postings: vec![CachedPosting {
                id: "acme.com/42".into(),
                valid_through: Some("2027-01-01".into()),
            }],
            links: vec!["https://acme.com/careers/42".into()],
            robots: None,
        };
        let tx = db.transaction().unwrap();
        tx.save_careers_page(&page).unwrap();
        tx.commit().unwrap();
        assert_eq!(db.careers_pages("acme.com").unwrap()[&page.url], page);
        assert!(db.careers_pages("globex.com").unwrap().is_empty());
        // Unreadable JSON: nothing carried, no validators, so asked in full.
        db.conn
            .execute("UPDATE careers_pages SET postings = '{'", [])
            .unwrap();
        let read = &db.careers_pages("acme.com").unwrap()[&page.url];
        assert_eq!((read.etag.as_deref(), read.postings.len()), (None, 0));
        let tx = db.transaction().unwrap();
        tx.forget_careers_page(&page.url).unwrap();
        tx.commit().unwrap();
        assert!(db.careers_pages("acme.com").unwrap().is_empty());
    }
}
