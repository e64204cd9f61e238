//! The contracts, checked in process over HTTP: token, size limits, replica
//! refusals, idempotent replication, the max-lag rule, the sync quorum rule
//! leaving no trace, and power gating with Retry-After.

use clap::Parser;
use nines_runtime::{start, Cli, Limits, Replication, Running, ServiceConfig};
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN: &str = "test-token-123";

fn config(replication: Replication) -> ServiceConfig {
    ServiceConfig {
        gated: false,
        retry_after: Duration::from_secs(2),
        replication,
        limits: Limits {
            max_key_bytes: 64,
            max_value_bytes: 1024,
            max_replicate_bytes: 1 << 20,
        },
        peer_timeout: Duration::from_millis(500),
        ..ServiceConfig::new("test")
    }
}

fn cli(args: &[&str]) -> Cli {
    let mut v = vec!["kv", "--peer-token", TOKEN];
    v.extend_from_slice(args);
    Cli::try_parse_from(v).expect("valid arguments")
}

async fn up(cfg: ServiceConfig, dir: &Path, listen: &str, args: &[&str]) -> Running {
    let d = dir.to_str().unwrap().to_string();
    let mut a = vec!["--listen", listen, "--data-dir", &d];
    a.extend_from_slice(args);
    start(cfg, cli(&a)).await.expect("service starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn url(r: &Running, path: &str) -> String {
    format!("http://{}{}", r.addr, path)
}

async fn put(c: &reqwest::Client, r: &Running, key: &str, val: &str) -> reqwest::Response {
    c.put(url(r, &format!("/v1/kv/{key}")))
        .body(val.to_string())
        .send()
        .await
        .unwrap()
}

async fn get(c: &reqwest::Client, r: &Running, key: &str) -> (u16, String) {
    let resp = c
        .get(url(r, &format!("/v1/kv/{key}")))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn json(resp: reqwest::Response) -> (u16, Option<String>, serde_json::Value) {
    let status = resp.status().as_u16();
    let ra = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (
        status,
        ra,
        resp.json().await.unwrap_or(serde_json::Value::Null),
    )
}

async fn eventually(within: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}

#[tokio::test]
async fn replicate_needs_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let r = up(
        config(Replication::None),
        dir.path(),
        "127.0.0.1:0",
        &["--role", "replica"],
    )
    .await;
    let c = client();
    let u = url(&r, "/v1/replicate");
    assert_eq!(c.post(&u).send().await.unwrap().status(), 401);
    assert_eq!(
        c.post(&u)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.post(&u)
            .bearer_auth(&TOKEN[..5])
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let ok = c.post(&u).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<serde_json::Value>().await.unwrap()["applied"], 0);
    // A batch over the replication limit (1 MiB here) is refused whole.
    let big = c
        .post(&u)
        .bearer_auth(TOKEN)
        .body(vec![0u8; (1 << 20) + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    r.stop().await;
}

#[tokio::test]
async fn sizes_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let r = up(config(Replication::None), dir.path(), "127.0.0.1:0", &[]).await;
    let c = client();
    assert_eq!(put(&c, &r, &"k".repeat(65), "v").await.status(), 413);
    assert_eq!(get(&c, &r, &"k".repeat(65)).await.0, 413);
    assert_eq!(put(&c, &r, "k", &"v".repeat(1025)).await.status(), 413);
    assert_eq!(put(&c, &r, "k", &"v".repeat(1024)).await.status(), 200);
    assert_eq!(get(&c, &r, "k").await, (200, "v".repeat(1024)));
    assert_eq!(get(&c, &r, "missing").await.0, 404);
    // Requests are counted under the route the router matched.
    for path in ["/v1/kv/", "/v1/kv/a/b", "/nowhere"] {
        assert_eq!(c.get(url(&r, path)).send().await.unwrap().status(), 404);
    }
    let m = metrics_text(&c, &r).await;
    for line in [
        "nines_http_requests_total{route=\"/v1/kv/{key}\",method=\"PUT\",status=\"413\"} 2",
        "nines_http_requests_total{route=\"/v1/kv/{key}\",method=\"PUT\",status=\"200\"} 1",
        "nines_http_requests_total{route=\"/v1/kv/{key}\",method=\"GET\",status=\"404\"} 1",
        "nines_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 3",
    ] {
        assert!(m.contains(line), "{line} in {m}");
    }
    r.stop().await;
}

/// A client write skips the router unless its key has something to decode
/// (`counting::Counted`): both ways must store the key the router decodes,
/// answer alike and be counted under the same route.
#[tokio::test]
async fn writes_take_their_key_from_the_path_as_the_router_does() {
    let dir = tempfile::tempdir().unwrap();
    let r = up(config(Replication::None), dir.path(), "127.0.0.1:0", &[]).await;
    let c = client();
    // Straight to the handler: nothing to decode.
    let plain = put(&c, &r, "xA", "1").await;
    assert_eq!(plain.status(), 200);
    assert_eq!(
        plain.headers()["content-type"],
        "application/json",
        "the same answer as through the router"
    );
    assert_eq!(plain.text().await.unwrap(), "{\"seq\":1}");
    // Through the router, which decodes: the same key, then another one.
    assert_eq!(put(&c, &r, "x%41", "2").await.status(), 200);
    assert_eq!(get(&c, &r, "xA").await, (200, "2".into()));
    assert_eq!(put(&c, &r, "a%2Fb", "3").await.status(), 200);
    assert_eq!(get(&c, &r, "a%2Fb").await, (200, "3".into()));
    assert_eq!(get(&c, &r, "a%2fb").await, (200, "3".into()));
    // Not valid UTF-8 once decoded: the router's 400.
    assert_eq!(put(&c, &r, "%FF", "4").await.status(), 400);
    // Not the route: the router's 404, whatever the method.
    for path in ["/v1/kv/", "/v1/kv/a/b", "/v1/kv"] {
        let resp = c.put(url(&r, path)).body("5").send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    let m = metrics_text(&c, &r).await;
    for line in [
        "nines_http_requests_total{route=\"/v1/kv/{key}\",method=\"PUT\",status=\"200\"} 3",
        "nines_http_requests_total{route=\"/v1/kv/{key}\",method=\"PUT\",status=\"400\"} 1",
        "nines_http_requests_total{route=\"unmatched\",method=\"PUT\",status=\"404\"} 3",
    ] {
        assert!(m.contains(line), "{line} in {m}");
    }
    r.stop().await;
}

#[tokio::test]
async fn replica_refuses_client_writes_as_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let r = up(
        config(Replication::None),
        dir.path(),
        "127.0.0.1:0",
        &["--role", "replica"],
    )
    .await;
    let (status, ra, body) = json(put(&client(), &r, "k", "v").await).await;
    assert_eq!((status, ra.as_deref()), (503, Some("2")));
    assert_eq!(body["reason"], "replica");
    assert_eq!(body["retryable"], true);
    r.stop().await;
}

#[tokio::test]
async fn startup_refusals_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let asyn = config(Replication::Async {
        max_lag: Duration::from_secs(30),
    });
    let e = start(
        asyn.clone(),
        cli(&["--data-dir", d, "--listen", "127.0.0.1:0"]),
    )
    .await
    .err()
    .unwrap();
    assert!(e.contains("--peer"), "{e}");
    let e = start(
        asyn.clone(),
        cli(&[
            "--data-dir",
            d,
            "--listen",
            "127.0.0.1:0",
            "--peer",
            "http://127.0.0.1:1",
            "--max-lag",
            "60s",
        ]),
    )
    .await
    .err()
    .unwrap();
    assert!(e.contains("loosen"), "{e}");
    let mut gated = config(Replication::None);
    gated.gated = true;
    let e = start(gated, cli(&["--data-dir", d, "--listen", "127.0.0.1:0"]))
        .await
        .err()
        .unwrap();
    assert!(e.contains("--power"), "{e}");
    let sync = config(Replication::Sync { quorum: 3 });
    let e = start(
        sync,
        cli(&[
            "--data-dir",
            d,
            "--listen",
            "127.0.0.1:0",
            "--peer",
            "http://127.0.0.1:1",
        ]),
    )
    .await
    .err()
    .unwrap();
    assert!(e.contains("quorum 3"), "{e}");
    let no_token = Cli::try_parse_from(["kv", "--data-dir", d, "--role", "replica"]).unwrap();
    if std::env::var_os("NINES_PEER_TOKEN").is_none() {
        let e = start(config(Replication::None), no_token)
            .await
            .err()
            .unwrap();
        assert!(e.contains("token"), "{e}");
    }
    // Two processes on one data dir: the second is refused.
    let r = up(config(Replication::None), dir.path(), "127.0.0.1:0", &[]).await;
    let e = start(
        config(Replication::None),
        cli(&["--data-dir", d, "--listen", "127.0.0.1:0"]),
    )
    .await
    .err()
    .unwrap();
    assert!(e.contains("in use"), "{e}");
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_replication_is_ordered_idempotent_and_converges() {
    let (d1, d2, dp) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let cfg = config(Replication::Async {
        max_lag: Duration::from_secs(30),
    });
    let r1 = up(
        cfg.clone(),
        d1.path(),
        "127.0.0.1:0",
        &["--role", "replica"],
    )
    .await;
    let r2 = up(
        cfg.clone(),
        d2.path(),
        "127.0.0.1:0",
        &["--role", "replica"],
    )
    .await;
    let p1 = format!("http://{}", r1.addr);
    let p2 = format!("http://{}", r2.addr);
    let p = up(
        cfg,
        dp.path(),
        "127.0.0.1:0",
        &["--peer", &p1, "--peer", &p2],
    )
    .await;
    let c = client();
    for i in 0..50 {
        assert_eq!(
            put(&c, &p, &format!("k{i}"), &format!("v{i}"))
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        c.delete(url(&p, "/v1/kv/k0"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for r in [&r1, &r2] {
        assert!(
            eventually(Duration::from_secs(5), async || r.node.log.last_seq() == 51).await,
            "replica catches up"
        );
        assert_eq!(get(&c, r, "k49").await, (200, "v49".into()));
        assert_eq!(get(&c, r, "k0").await.0, 404);
    }
    // Re-sending records it has is a no-op; a gap is a 409 naming where it is.
    let (frames, _) = p.node.log.read_frames(1, 10, 1 << 20).unwrap();
    let u = url(&r1, "/v1/replicate");
    let resp = c
        .post(&u)
        .bearer_auth(TOKEN)
        .body(frames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["applied"],
        51
    );
    assert_eq!(r1.node.store.len(), 49);
    let far = nines_runtime::log::Record {
        seq: 99,
        ..nines_runtime::log::Record::put("x", "y")
    };
    let resp = c
        .post(&u)
        .bearer_auth(TOKEN)
        .body(far.encode())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["applied"],
        51
    );
    // Corrupt frames are refused.
    let mut bad = far.encode();
    bad[10] ^= 1;
    let resp = c
        .post(&u)
        .bearer_auth(TOKEN)
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Lag is exported per peer.
    let m = c
        .get(url(&p, "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains(&format!("nines_replication_lag_records{{peer=\"{p1}\"}} 0")),
        "{m}"
    );
    assert!(m.contains("nines_replication_lag_seconds{peer="));
    p.stop().await;
    r1.stop().await;
    r2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_over_max_closes_the_gate_until_the_peer_is_back() {
    let (d1, dp) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg = config(Replication::Async {
        max_lag: Duration::from_millis(300),
    });
    let listen = free_port();
    let r1 = up(cfg.clone(), d1.path(), &listen, &["--role", "replica"]).await;
    let peer = format!("http://{listen}");
    let p = up(cfg.clone(), dp.path(), "127.0.0.1:0", &["--peer", &peer]).await;
    let c = client();
    assert_eq!(put(&c, &p, "a", "1").await.status(), 200);
    r1.stop().await;
    // Acknowledged while within max lag; then the lag grows past it.
    assert_eq!(put(&c, &p, "b", "2").await.status(), 200);
    let closed = eventually(Duration::from_secs(3), async || {
        let (s, _, b) = json(put(&c, &p, "c", "3").await).await;
        s == 503 && b["reason"] == "replication_lag"
    })
    .await;
    assert!(closed, "gate closes on lag");
    assert_eq!(
        c.get(url(&p, "/readyz")).send().await.unwrap().status(),
        503
    );
    assert_eq!(
        get(&c, &p, "b").await,
        (200, "2".into()),
        "reads still work"
    );
    let r1 = up(cfg, d1.path(), &listen, &["--role", "replica"]).await;
    let reopened = eventually(Duration::from_secs(5), async || {
        put(&c, &p, "d", "4").await.status() == 200
    })
    .await;
    assert!(reopened, "gate opens once the peer catches up");
    assert!(
        eventually(Duration::from_secs(3), async || get(&c, &r1, "d").await.0
            == 200)
        .await
    );
    assert_eq!(get(&c, &r1, "b").await, (200, "2".into()));
    p.stop().await;
    r1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_quorum_refusals_leave_no_trace() {
    let (d1, dp) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let c = client();
    // Quorum 3 of 3 with one peer down: peer 1 prepares, peer 2 is unreachable.
    let cfg = config(Replication::Sync { quorum: 3 });
    let r1 = up(
        cfg.clone(),
        d1.path(),
        "127.0.0.1:0",
        &["--role", "replica"],
    )
    .await;
    let dead = format!("http://{}", free_port());
    let p1 = format!("http://{}", r1.addr);
    let p = up(
        cfg.clone(),
        dp.path(),
        "127.0.0.1:0",
        &["--peer", &p1, "--peer", &dead],
    )
    .await;
    let (s, ra, b) = json(put(&c, &p, "ghost", "boo").await).await;
    assert_eq!((s, ra.as_deref()), (503, Some("2")));
    assert_eq!(b["reason"], "sync_quorum_unreachable");
    assert_eq!(b["retryable"], true);
    assert_eq!(get(&c, &p, "ghost").await.0, 404);
    assert_eq!(p.node.log.last_seq(), 0, "nothing in the primary's log");
    assert_eq!(
        get(&c, &r1, "ghost").await.0,
        404,
        "nothing visible on the peer"
    );
    assert!(
        eventually(Duration::from_secs(3), async || r1.node.store.pending_len()
            == 0)
        .await,
        "the peer drops the prepared copy on abort"
    );
    p.stop().await;
    r1.stop().await;
    // After restarts: still no trace anywhere.
    let r1 = up(
        cfg.clone(),
        d1.path(),
        "127.0.0.1:0",
        &["--role", "replica"],
    )
    .await;
    assert_eq!(get(&c, &r1, "ghost").await.0, 404);
    assert_eq!(r1.node.store.pending_len(), 0);
    // Quorum 2 with a live peer: acknowledged, and on the peer.
    let cfg2 = config(Replication::Sync { quorum: 2 });
    let p1 = format!("http://{}", r1.addr);
    let p = up(cfg2.clone(), dp.path(), "127.0.0.1:0", &["--peer", &p1]).await;
    assert_eq!(get(&c, &p, "ghost").await.0, 404);
    assert_eq!(put(&c, &p, "real", "yes").await.status(), 200);
    assert!(
        eventually(Duration::from_secs(3), async || get(&c, &r1, "real")
            .await
            .0
            == 200)
        .await
    );
    // Peer gone: refused, and when it returns the refused write is nowhere.
    r1.stop().await;
    let (s, _, b) = json(put(&c, &p, "ghost2", "boo").await).await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (503, Some("sync_quorum_unreachable"))
    );
    let r1 = up(
        cfg2,
        d1.path(),
        &p1["http://".len()..],
        &["--role", "replica"],
    )
    .await;
    assert_eq!(put(&c, &p, "after", "ok").await.status(), 200);
    assert!(
        eventually(Duration::from_secs(3), async || get(&c, &r1, "after")
            .await
            .0
            == 200)
        .await
    );
    assert_eq!(get(&c, &r1, "ghost2").await.0, 404);
    assert_eq!(get(&c, &p, "ghost2").await.0, 404);
    assert_eq!(p.node.log.last_seq(), 2, "real and after only");
    p.stop().await;
    r1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_gate_refuses_with_retry_after_and_keeps_reads() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("ups.status");
    std::fs::write(&status, "OL\n").unwrap();
    let mut cfg = config(Replication::None);
    cfg.gated = true;
    let power = format!("file:{}", status.display());
    let data = dir.path().join("data");
    let r = up(
        cfg,
        &data,
        "127.0.0.1:0",
        &[
            "--power",
            &power,
            "--power-poll",
            "50ms",
            "--power-grace",
            "300ms",
        ],
    )
    .await;
    let c = client();
    assert!(
        eventually(Duration::from_secs(2), async || put(&c, &r, "a", "1")
            .await
            .status()
            == 200)
        .await
    );
    std::fs::write(&status, "OB\n").unwrap();
    let t = Instant::now();
    let refused = eventually(Duration::from_secs(1), async || {
        put(&c, &r, "probe", "2").await.status() == 503
    })
    .await;
    assert!(refused, "refused within a second of OB ({:?})", t.elapsed());
    let (s, ra, b) = json(put(&c, &r, "b", "2").await).await;
    assert_eq!((s, ra.as_deref()), (503, Some("2")));
    assert_eq!(b["reason"], "on_battery");
    assert_eq!(b["retryable"], true);
    assert!(b["error"].as_str().unwrap_or("").contains("battery"));
    assert_eq!(get(&c, &r, "a").await, (200, "1".into()));
    assert_eq!(
        get(&c, &r, "b").await.0,
        404,
        "the refused write left nothing"
    );
    assert_eq!(
        c.get(url(&r, "/readyz")).send().await.unwrap().status(),
        503
    );
    assert_eq!(
        c.get(url(&r, "/healthz")).send().await.unwrap().status(),
        200
    );
    std::fs::write(&status, "OB LB\n").unwrap();
    assert!(
        eventually(Duration::from_secs(1), async || json(
            put(&c, &r, "b", "2").await
        )
        .await
        .2["reason"]
            == "low_battery")
        .await
    );
    let m = metrics_text(&c, &r).await;
    assert!(m.contains("nines_write_gate_open 0"), "{m}");
    assert!(m.contains("nines_write_gate_reason{reason=\"low_battery\"} 1"));
    // Exactly one flush: OB closed the open gate once; LB while closed is
    // no new close, and the closed state at start-up is no close at all.
    assert_eq!(flush_count(&m), 1, "flushed once on close: {m}");
    assert!(m.contains(
        "nines_http_requests_total{route=\"/v1/kv/{key}\",method=\"PUT\",status=\"503\"}"
    ));
    std::fs::write(&status, "OL\n").unwrap();
    assert!(
        eventually(Duration::from_secs(1), async || put(&c, &r, "b", "2")
            .await
            .status()
            == 200)
        .await
    );
    // The status source vanishing closes the gate after the grace period.
    std::fs::remove_file(&status).unwrap();
    let (s, _, b) = json(put(&c, &r, "c", "3").await).await;
    assert_eq!(s, 200, "still within the grace period: {b}");
    assert!(
        eventually(Duration::from_secs(2), async || json(
            put(&c, &r, "c", "3").await
        )
        .await
        .2["reason"]
            == "power_monitor_unreachable")
        .await
    );
    let m = metrics_text(&c, &r).await;
    assert!(
        m.contains("nines_power_monitor_up{error=\"cannot read"),
        "{m}"
    );
    r.stop().await;
}

async fn metrics_text(c: &reqwest::Client, r: &Running) -> String {
    c.get(url(r, "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn flush_count(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("nines_flush_duration_seconds_count "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(u64::MAX)
}

/// A gated service starts with its gate closed (no reading yet). That is its
/// starting state, not a close: no flush may be counted for it, however the
/// start-up tasks are scheduled on the worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_closed_at_start_up_counts_no_flush() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("ups.status");
    std::fs::write(&status, "OB\n").unwrap();
    let power = format!("file:{}", status.display());
    let c = client();
    for i in 0..10 {
        let mut cfg = config(Replication::None);
        cfg.gated = true;
        let data = dir.path().join(format!("data{i}"));
        let r = up(
            cfg,
            &data,
            "127.0.0.1:0",
            &["--power", &power, "--power-poll", "20ms"],
        )
        .await;
        assert!(
            eventually(Duration::from_secs(2), async || json(
                put(&c, &r, "k", "v").await
            )
            .await
            .2["reason"]
                == "on_battery")
            .await
        );
        let m = metrics_text(&c, &r).await;
        assert_eq!(flush_count(&m), 0, "start-up #{i}: {m}");
        r.stop().await;
    }
}
