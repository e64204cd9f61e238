//! The HTTP API.

use crate::gate::Reason;
use crate::log::Record;
use crate::node::{Node, ReplicateReply, WriteError};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Builds the router for a node.
pub fn router(node: Arc<Node>) -> Router {
    let limits = node.config.limits;
    let kv = Router::new()
        .route("/v1/kv/{key}", get(get_kv).put(put_kv).delete(delete_kv))
        .layer(DefaultBodyLimit::max(limits.max_value_bytes));
    let repl = Router::new()
        .route("/v1/replicate", post(replicate))
        .layer(DefaultBodyLimit::max(limits.max_replicate_bytes));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(kv)
        .merge(repl)
        .layer(middleware::from_fn_with_state(node.clone(), count_requests))
        .with_state(node)
}

/// The routes, as their metric labels (static: counting a request allocates
/// nothing).
const ROUTES: [&str; 6] = [
    "/v1/kv/{key}",
    "/v1/replicate",
    "/healthz",
    "/readyz",
    "/metrics",
    "unmatched",
];

fn route_label(req: &Request) -> &'static str {
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str());
    ROUTES
        .iter()
        .find(|r| Some(**r) == matched)
        .copied()
        .unwrap_or("unmatched")
}

fn method_label(req: &Request) -> &'static str {
    match req.method().as_str() {
        "GET" => "GET",
        "PUT" => "PUT",
        "POST" => "POST",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        _ => "other", // bounded label values
    }
}

async fn count_requests(State(node): State<Arc<Node>>, req: Request, next: Next) -> Response {
    let (route, method) = (route_label(&req), method_label(&req));
    let resp = next.run(req).await;
    node.metrics
        .count_request(method, route, resp.status().as_u16());
    resp
}

/// The `503` of a contract refusal: `Retry-After` and a JSON reason.
pub fn refusal(node: &Node, r: Reason) -> Response {
    let secs = node.config.retry_after_secs();
    let mut resp = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": r.message(), "reason": r.code(), "retryable": true})),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({"error": msg, "retryable": false}))).into_response()
}

fn check_key(node: &Node, key: &str) -> Result<(), Box<Response>> {
    if key.is_empty() {
        return Err(Box::new(error(StatusCode::BAD_REQUEST, "empty key")));
    }
    if key.len() > node.config.limits.max_key_bytes {
        return Err(Box::new(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("key longer than {} bytes", node.config.limits.max_key_bytes),
        )));
    }
    Ok(())
}

async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn readyz(State(node): State<Arc<Node>>) -> Response {
    match node.gate.check() {
        Ok(()) => Json(json!({"ready": true})).into_response(),
        Err(r) => refusal(&node, r),
    }
}

async fn metrics(State(node): State<Arc<Node>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        node.render_metrics(),
    )
        .into_response()
}

async fn get_kv(State(node): State<Arc<Node>>, Path(key): Path<String>) -> Response {
    if let Err(r) = check_key(&node, &key) {
        return *r;
    }
    match node.get(key.as_bytes()) {
        Some(v) => ([(header::CONTENT_TYPE, "application/octet-stream")], v).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such key"),
    }
}

async fn put_kv(State(node): State<Arc<Node>>, Path(key): Path<String>, body: Bytes) -> Response {
    if let Err(r) = check_key(&node, &key) {
        return *r;
    }
    if body.len() > node.config.limits.max_value_bytes {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "value too large");
    }
    // One copy, into a buffer of its own: the body is a slice of the
    // connection's read buffer, which the store must not keep alive. The
    // log and the store then share this one.
    let value = Bytes::copy_from_slice(&body);
    write(&node, Record::put(key.into_bytes(), value)).await
}

async fn delete_kv(State(node): State<Arc<Node>>, Path(key): Path<String>) -> Response {
    if let Err(r) = check_key(&node, &key) {
        return *r;
    }
    write(&node, Record::delete(key.into_bytes())).await
}

async fn write(node: &Node, rec: Record) -> Response {
    match node.write(rec).await {
        // `{"seq":N}`, written directly: this is the hot path of every write.
        Ok(seq) => (
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"seq\":{seq}}}"),
        )
            .into_response(),
        Err(WriteError::Refused(r)) => refusal(node, r),
        Err(WriteError::Storage(e)) => {
            tracing::error!(error = %e, "write failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "storage failure: the write was not acknowledged", "reason": "storage", "retryable": true})),
            )
                .into_response()
        }
    }
}

async fn replicate(
    State(node): State<Arc<Node>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !node.token_ok(token) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong peer token");
    }
    let op = q.get("op").map(String::as_str).unwrap_or("append");
    match node.apply_replicated(op, &body).await {
        Ok(applied) => Json(ReplicateReply { applied }).into_response(),
        Err((409, _)) => (
            StatusCode::CONFLICT,
            Json(ReplicateReply {
                applied: node.log.last_seq(),
            }),
        )
            .into_response(),
        Err((503, msg)) => {
            let mut r = error(StatusCode::SERVICE_UNAVAILABLE, &msg);
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(node.config.retry_after_secs()),
            );
            r
        }
        Err((code, msg)) => error(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &msg,
        ),
    }
}
