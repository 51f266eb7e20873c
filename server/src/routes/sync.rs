//! `POST /api/v1/sync`: one exchange of the sync protocol (see `crate::sync`),
//! held back in zero-loss mode until the backup node has the push.

use axum::extract::State;
use axum::routing::post;
use axum::Router;

use crm_shared::sync::{SyncRequest, SyncResponse};

use crate::auth::Auth;
use crate::caller::Caller;
use crate::clock;
use crate::error::AppError;
use crate::extract::Json;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/sync", post(sync_handler))
}

async fn sync_handler(
    auth: Auth,
    State(state): State<AppState>,
    Json(req): Json<SyncRequest>,
) -> Result<axum::Json<SyncResponse>, AppError> {
    let pushed = req.push.len();
    let caller = Caller::from(&auth);
    let (mut resp, upto) = state.sync.sync(caller, req, clock::now_ms()).await?;
    // Zero-loss mode: a push is acknowledged only once the backup node holds
    // it; until then the laptop keeps it marked unsent and sends it again.
    if state.backup.zero_loss()
        && upto > 0
        && !state
            .backup
            .wait_confirmed(upto, crate::backup::ZERO_LOSS_WAIT)
            .await
    {
        resp.unconfirmed = resp.acked.drain(..).map(|a| a.id).collect();
    }
    if let Ok(mut syncs) = state.syncs.lock() {
        syncs.insert(
            auth.device_id,
            crate::state::DeviceSync {
                at: clock::now_ms(),
                cursor: resp.cursor,
                pushed,
                unconfirmed: resp.unconfirmed.len(),
            },
        );
    }
    Ok(axum::Json(resp))
}
