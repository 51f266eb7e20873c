//! The sync engine behind `POST /api/v1/sync` (protocol: ARCHITECTURE.md,
//! wire types: `crm_shared::sync`).
//!
//! One exchange is two steps, so that only writes hold the single writer:
//! 1. **Push** ([`group`], [`push`]): the pushes of every request waiting
//!    for the writer are applied in one transaction. Each pushed document is
//!    checked into a verdict (may the caller change it, is every new change
//!    theirs, does a protected field need putting back, is the card valid)
//!    and then stored, in its own savepoint: a refused document takes back
//!    only what it wrote.
//! 2. **Answer** ([`answer`], a read snapshot): what the laptop lacks, from
//!    its cursor in the update log, or its `have` list on a first sync.
//!
//! The engine holds what lives between requests: the pushes waiting for the
//! writer and the most recently written documents ([`doc_cache`]). The
//! database handle holds only the database.

mod answer;
mod doc_cache;
mod group;
mod push;

use std::sync::Arc;

use crm_shared::codes::Role;
use crm_shared::sync::{SyncRequest, SyncResponse};

pub use answer::RESPONSE_BUDGET;
pub use push::SYSTEM_USER;

use crate::caller::{Caller, ServiceError};
use crate::db::documents as docs;
use crate::db::Db;
use answer::Asked;
use doc_cache::DocCache;
use group::PushQueue;
use push::Pushed;

/// The sync engine: the store, the pushes waiting for its writer, and the
/// documents kept loaded. Cheap to clone; one per server.
#[derive(Clone)]
pub struct SyncEngine {
    db: Db,
    queue: Arc<PushQueue>,
    cache: Arc<DocCache>,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncEngine")
    }
}

impl SyncEngine {
    /// An engine over `db`, with nothing waiting and nothing loaded.
    pub fn new(db: Db) -> SyncEngine {
        SyncEngine {
            db,
            queue: Arc::default(),
            cache: Arc::new(DocCache::new()),
        }
    }

    /// Runs one sync exchange. Also returns the newest log position of any
    /// pushed document (0 when nothing was pushed), for zero-loss mode.
    pub async fn sync(
        &self,
        caller: Caller,
        req: SyncRequest,
        now: i64,
    ) -> Result<(SyncResponse, u64), ServiceError> {
        if !matches!(caller.role, Role::Salesperson | Role::Clerk | Role::Manager) {
            return Err(ServiceError::Forbidden(format!(
                "角色“{}”不能同步客户档案",
                caller.role.label()
            )));
        }
        let SyncRequest {
            epoch,
            cursor,
            have,
            push,
            settings_version,
            recheck,
            lineage,
        } = req;
        let pushing = !push.is_empty();
        let pushed = if pushing {
            group::apply(
                (&self.db, &self.cache, &self.queue),
                caller.clone(),
                push,
                lineage.clone(),
                now,
            )
            .await?
        } else {
            Pushed::default()
        };
        let upto = pushed.upto;
        let cache = self.cache.clone();
        let resp = self
            .db
            .read_with(move |conn| {
                // Without a push the mark does not move; it is only compared.
                let rotate = match (&lineage, pushing) {
                    (Some(l), false) => !docs::lineage_follows(conn, l)?,
                    _ => pushed.rotate_actor,
                };
                let asked = Asked {
                    epoch,
                    cursor,
                    have,
                    recheck,
                };
                let mut resp = answer::answer(conn, &cache, &caller, asked, pushed)?;
                resp.rotate_actor = rotate;
                let current = docs::settings(conn)?;
                if settings_version != Some(current.version) {
                    resp.settings = Some(current);
                }
                Ok::<_, ServiceError>(resp)
            })
            .await?;
        Ok((resp, upto))
    }
}
