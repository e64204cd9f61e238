//! Counts every HTTP request by route, method and status for `/metrics`.
//!
//! [`Counted`] wraps the whole router as one service instead of being a
//! router layer: a layer is applied to every route, and each costs a clone
//! of a boxed route and a boxed future per request (with axum's
//! `middleware::from_fn`, a third of the primary's allocations per write).
//! The route label comes from the path, by the rules of the router's table
//! ([`route_label`]).
//!
//! A client `PUT /v1/kv/{key}` (the write path) goes straight to its handler
//! ([`crate::http::put_kv`]) instead of through the router, with the key
//! taken from the path as the router would: the router's match of a route
//! with a parameter costs each request several allocations (the parameter's
//! name and value, the request's extension map, the route's boxed service
//! and future) and the `Path` extractor's deserialisation. A key with a
//! `%` still goes through the router, which decodes it.

use crate::node::Node;
use axum::extract::{Path, Request, State};
use axum::http::Method;
use axum::response::Response;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tower_service::Service;

/// The routes of [`crate::http::router`], as their metric labels.
pub const ROUTES: [&str; 6] = [
    "/v1/kv/{key}",
    "/v1/replicate",
    "/healthz",
    "/readyz",
    "/metrics",
    "unmatched",
];

/// The route `path` matches in [`crate::http::router`], or `unmatched`.
/// Static: counting a request allocates nothing.
pub fn route_label(path: &str) -> &'static str {
    match path {
        "/v1/replicate" => ROUTES[1],
        "/healthz" => ROUTES[2],
        "/readyz" => ROUTES[3],
        "/metrics" => ROUTES[4],
        // `{key}` is one non-empty path segment.
        p => match p.strip_prefix("/v1/kv/") {
            Some(key) if !key.is_empty() && !key.contains('/') => ROUTES[0],
            _ => ROUTES[5],
        },
    }
}

/// The method as a metric label (bounded label values).
pub fn method_label(m: &Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "PUT" => "PUT",
        "POST" => "POST",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        _ => "other",
    }
}

/// A service (the router) whose every answer is counted in the node's metrics.
#[derive(Clone)]
pub struct Counted<S> {
    inner: S,
    node: Arc<Node>,
}

impl<S> Counted<S> {
    /// Counts the answers of `inner` in `node`'s metrics.
    pub fn new(inner: S, node: Arc<Node>) -> Self {
        Counted { inner, node }
    }
}

impl<S> Service<Request> for Counted<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CountedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let route = route_label(req.uri().path());
        let method = method_label(req.method());
        let inner = match put_key(route, req.method(), req.uri().path()) {
            Some(key) => {
                let key = key.to_owned();
                let body = req.into_body();
                Inner::Put {
                    fut: Box::pin(crate::http::put_kv(
                        State(self.node.clone()),
                        Path(key),
                        body,
                    )),
                }
            }
            None => Inner::Routed {
                fut: self.inner.call(req),
            },
        };
        CountedFuture {
            inner,
            node: self.node.clone(),
            route,
            method,
        }
    }
}

/// The key of a client write the router would give `put_kv` as is: `PUT`
/// on the `/v1/kv/{key}` route, with nothing to percent-decode.
fn put_key<'a>(route: &str, method: &Method, path: &'a str) -> Option<&'a str> {
    if route != ROUTES[0] || method != Method::PUT {
        return None;
    }
    path.strip_prefix("/v1/kv/").filter(|k| !k.contains('%'))
}

/// A client write's handler, boxed: its future type cannot be named.
type PutFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

pin_project_lite::pin_project! {
    /// Where a request went: the router, or straight to `put_kv`.
    #[project = InnerProj]
    enum Inner<F> {
        Routed { #[pin] fut: F },
        Put { fut: PutFuture },
    }
}

pin_project_lite::pin_project! {
    /// The answer of a [`Counted`] service: counted once it is ready.
    pub struct CountedFuture<F> {
        #[pin]
        inner: Inner<F>,
        node: Arc<Node>,
        route: &'static str,
        method: &'static str,
    }
}

impl<F> Future for CountedFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = match this.inner.project() {
            InnerProj::Routed { fut } => ready!(fut.poll(cx)),
            InnerProj::Put { fut } => Ok(ready!(fut.as_mut().poll(cx))),
        };
        if let Ok(resp) = &out {
            this.node
                .metrics
                .count_request(this.method, this.route, resp.status().as_u16());
        }
        Poll::Ready(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_get_the_router_s_route_labels() {
        for (path, label) in [
            ("/v1/kv/k", "/v1/kv/{key}"),
            ("/v1/kv/a%2Fb", "/v1/kv/{key}"),
            ("/v1/kv/", "unmatched"),
            ("/v1/kv/a/b", "unmatched"),
            ("/v1/kv", "unmatched"),
            ("/v1/replicate", "/v1/replicate"),
            ("/healthz", "/healthz"),
            ("/healthz/", "unmatched"),
            ("/readyz", "/readyz"),
            ("/metrics", "/metrics"),
            ("/", "unmatched"),
        ] {
            assert_eq!(route_label(path), label, "{path}");
        }
        assert_eq!(method_label(&Method::PATCH), "other");
    }

    #[test]
    fn only_client_writes_with_nothing_to_decode_skip_the_router() {
        fn key<'a>(m: &Method, path: &'a str) -> Option<&'a str> {
            put_key(route_label(path), m, path)
        }
        assert_eq!(key(&Method::PUT, "/v1/kv/k-1"), Some("k-1"));
        assert_eq!(key(&Method::PUT, "/v1/kv/a%2Fb"), None);
        assert_eq!(key(&Method::PUT, "/v1/kv/"), None);
        assert_eq!(key(&Method::PUT, "/v1/kv/a/b"), None);
        assert_eq!(key(&Method::PUT, "/v1/replicate"), None);
        assert_eq!(key(&Method::GET, "/v1/kv/k"), None);
        assert_eq!(key(&Method::DELETE, "/v1/kv/k"), None);
    }
}
