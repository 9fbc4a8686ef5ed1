//! What the server answers: `GET /` the dashboard page, `GET /api/telemetry`
//! the latest sample, `GET /api/ws` a WebSocket of samples. Every route reads;
//! no method writes anything (others get 405). With a token, every request,
//! whatever its path, shows it (`?token=` or `Authorization: Bearer`) or
//! gets 401.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::sync::{Semaphore, watch};

use super::feed::Latest;
use super::page;
use super::token::Token;
use super::websocket;

/// What every request may need.
#[derive(Debug, Clone)]
pub struct App {
    /// The latest sample.
    pub latest: Latest,
    /// The token requests must show, off the loopback.
    pub token: Option<Token>,
    /// Places for WebSocket clients.
    pub clients: Arc<Semaphore>,
    /// Set when the server stops.
    pub stopping: watch::Receiver<bool>,
}

/// The routes, behind the token check.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/api/telemetry", get(telemetry))
        .route("/api/ws", get(stream))
        .layer(middleware::from_fn_with_state(app.clone(), authorize))
        .with_state(app)
}

/// Lets a request through when no token is needed or it shows the token.
async fn authorize(State(app): State<App>, request: Request, next: Next) -> Response {
    if let Some(token) = &app.token
        && !token_of(&request).is_some_and(|given| token.matches(&given))
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "shm-bridge: this needs the token: open the URL `shm-bridge serve` printed \
             (it ends in ?token=...)\n",
        )
            .into_response();
    }
    next.run(request).await
}

/// The token a request shows: `?token=`, else `Authorization: Bearer`.
fn token_of(request: &Request) -> Option<String> {
    let query = Query::<HashMap<String, String>>::try_from_uri(request.uri())
        .ok()
        .and_then(|Query(mut q)| q.remove("token"));
    query.or_else(|| {
        let value = request
            .headers()
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    })
}

/// The dashboard: one page, its style and script inside, nothing fetched
/// from anywhere else (the policy forbids it too).
async fn dashboard() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        page::PAGE.as_str(),
    )
        .into_response()
}

/// The latest sample: 200 with telemetry, 503 without (no game running;
/// the document says which pages are missing).
async fn telemetry(State(app): State<App>) -> Response {
    let now = app.latest.borrow().clone();
    let status = if now.live {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (status, now.json.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// What `/api/ws` may be asked.
#[derive(Debug, Deserialize)]
struct StreamQuery {
    /// Messages a second at most.
    rate: Option<u32>,
}

/// A WebSocket of samples, while there is room for another client.
async fn stream(
    State(app): State<App>,
    Query(query): Query<StreamQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let gap: Option<Duration> = match websocket::gap_of(query.rate) {
        Ok(gap) => gap,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let Ok(slot) = app.clients.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "shm-bridge: as many clients as --max-clients allows are connected; try again later\n",
        )
            .into_response();
    };
    upgrade
        .max_message_size(websocket::MAX_INCOMING)
        .max_frame_size(websocket::MAX_INCOMING)
        .on_upgrade(move |socket| websocket::serve(socket, app.latest, gap, app.stopping, slot))
}
