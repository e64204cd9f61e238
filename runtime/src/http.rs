//! The HTTP API.

use crate::gate::Reason;
use crate::log::Record;
use crate::node::{Node, ReplicateReply, WriteError};
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Builds the router for a node. Requests are counted around it
/// ([`crate::counting::Counted`]), and bodies are read against the size
/// limits in the handlers ([`read_body`]): a router layer would cost every
/// request a clone of a boxed route and a boxed future. A client `PUT` of a
/// key with nothing to percent-decode does not come through here at all
/// ([`crate::counting::Counted`] calls [`put_kv`] itself): a layer added
/// here would not see it.
pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/kv/{key}", get(get_kv).put(put_kv).delete(delete_kv))
        .route("/v1/replicate", post(replicate))
        .with_state(node)
}

/// Reads a request body of at most `limit` bytes into a buffer of its own
/// (sized from `Content-Length`): past the limit `413`, and `400` when the
/// body cannot be read. The copy matters: the frames are slices of the
/// connection's read buffer, which a value kept in the store must not keep
/// alive; and it is the only copy a client write's value goes through (the
/// log and the store then share it).
async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, Box<Response>> {
    let hint = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(hint.min(limit));
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "cannot read the request body",
            )));
        };
        if let Ok(data) = frame.into_data() {
            if data.len() > limit - out.len() {
                return Err(Box::new(error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body too large",
                )));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
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

/// `PUT /v1/kv/{key}`; also called without the router by
/// [`crate::counting::Counted`] for keys with nothing to decode.
pub(crate) async fn put_kv(
    State(node): State<Arc<Node>>,
    Path(key): Path<String>,
    body: Body,
) -> Response {
    if let Err(r) = check_key(&node, &key) {
        return *r;
    }
    let value = match read_body(body, node.config.limits.max_value_bytes).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
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
        // `{"seq":N}`, written directly, and one header set once (a
        // `String` answer would set a text content type first): this is
        // the hot path of every write.
        Ok(seq) => {
            let mut resp = Response::new(Body::from(format!("{{\"seq\":{seq}}}")));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
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
    body: Body,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !node.token_ok(token) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong peer token");
    }
    let op = q.get("op").map(String::as_str).unwrap_or("append");
    let body = match read_body(body, node.config.limits.max_replicate_bytes).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
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
