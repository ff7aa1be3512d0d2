//! Watching changes: replay from the store, then live notices from the hub's broadcast.
//!
//! The watcher subscribes *before* it reads the store, so every change is either in what it
//! reads or in what it receives. Versions are gapless (see `crate::store`), so a live notice
//! that skips a version — a change made by another process on the same database, or one the
//! receiver dropped because it lagged — sends the watcher back to the store to catch up.

use std::collections::VecDeque;

use futures::StreamExt;
use futures::stream::BoxStream;
use nave_hub_core::{AuthContext, Result};
use tokio::sync::broadcast::{self, error::RecvError};

use super::{LocalConfig, may_see, notice_of, require_signed_in};
use crate::types::ChangeNotice;

/// Changes read from the store at a time while catching up.
const PAGE: i64 = 200;

/// Where one watcher stands.
struct Watcher {
    hub: LocalConfig,
    ctx: AuthContext,
    live: broadcast::Receiver<ChangeNotice>,
    /// The last version handled (sent or filtered out).
    last: i64,
    /// Notices read from the store, not yet sent.
    ready: VecDeque<ChangeNotice>,
    /// Whether the store may hold changes after `last` that `live` will not deliver.
    catching_up: bool,
    /// Set after an error, which ends the stream.
    done: bool,
}

impl LocalConfig {
    pub(super) fn do_watch(
        &self,
        ctx: &AuthContext,
        after_version: u64,
    ) -> Result<BoxStream<'static, Result<ChangeNotice>>> {
        require_signed_in(ctx)?;
        let watcher = Watcher {
            live: self.subscribe(),
            hub: self.clone(),
            ctx: ctx.clone(),
            last: i64::try_from(after_version).unwrap_or(i64::MAX),
            ready: VecDeque::new(),
            catching_up: true,
            done: false,
        };
        Ok(futures::stream::unfold(watcher, Watcher::next).boxed())
    }
}

impl Watcher {
    async fn next(mut self) -> Option<(Result<ChangeNotice>, Self)> {
        loop {
            if self.done {
                return None;
            }
            if let Some(notice) = self.ready.pop_front() {
                return Some((Ok(notice), self));
            }
            if self.catching_up {
                if let Err(e) = self.catch_up().await {
                    self.done = true;
                    return Some((Err(e), self));
                }
                continue;
            }
            match self.live.recv().await {
                Ok(notice) => {
                    let version = i64::try_from(notice.version).unwrap_or(i64::MAX);
                    if version <= self.last {
                        continue;
                    }
                    if version > self.last.saturating_add(1) {
                        self.catching_up = true;
                        continue;
                    }
                    self.last = version;
                    if may_see(&self.ctx, &notice.scope) {
                        return Some((Ok(notice), self));
                    }
                }
                Err(RecvError::Lagged(_)) => self.catching_up = true,
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Reads the next page of changes after `last` from the store.
    async fn catch_up(&mut self) -> Result<()> {
        let rows = self.hub.store().changes_after(self.last, PAGE).await?;
        if rows.len() < PAGE as usize {
            self.catching_up = false;
        }
        for row in &rows {
            self.last = row.version;
            let notice = notice_of(row)?;
            if may_see(&self.ctx, &notice.scope) {
                self.ready.push_back(notice);
            }
        }
        Ok(())
    }
}
