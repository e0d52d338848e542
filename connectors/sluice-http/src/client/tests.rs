use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap as AxHeaders, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;

use super::*;
use crate::clock::VirtualSleeper;

/// Replays a script of responses per path, then 200 `{"ok":true}`.
#[derive(Clone, Default)]
struct Script {
    calls: Arc<Mutex<HashMap<String, usize>>>,
    steps: Arc<HashMap<&'static str, Vec<(u16, Vec<(&'static str, String)>, String)>>>,
    seen_auth: Arc<Mutex<Vec<String>>>,
}

async fn handler(
    State(s): State<Script>,
    uri: axum::http::Uri,
    headers: AxHeaders,
) -> impl IntoResponse {
    let n = {
        let mut calls = s.calls.lock().unwrap();
        let n = calls.entry(uri.path().to_string()).or_default();
        *n += 1;
        *n - 1
    };
    if let Some(a) = headers
        .get("authorization")
        .or(headers.get("private-token"))
    {
        s.seen_auth
            .lock()
            .unwrap()
            .push(a.to_str().unwrap().to_string());
    }
    let steps = s.steps.get(uri.path()).cloned().unwrap_or_default();
    let (status, hdrs, body) =
        steps
            .get(n)
            .cloned()
            .unwrap_or((200, vec![], r#"{"ok":true}"#.into()));
    let mut h = AxHeaders::new();
    for (k, v) in hdrs {
        h.insert(k, v.parse().unwrap());
    }
    (StatusCode::from_u16(status).unwrap(), h, body)
}

async fn serve(
    steps: HashMap<&'static str, Vec<(u16, Vec<(&'static str, String)>, String)>>,
) -> (String, Script) {
    let script = Script {
        steps: Arc::new(steps),
        ..Default::default()
    };
    let app = Router::new()
        .fallback(get(handler))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/api"), script)
}

fn client(base: &str, auth: Auth) -> (HttpClient, Arc<VirtualSleeper>) {
    let sleeper = Arc::new(VirtualSleeper::default());
    let settings = HttpSettings {
        requests_per_second: 1000.0,
        burst: 100,
        max_retries: 3,
        ..Default::default()
    };
    (
        HttpClient::new(base, &auth, &settings)
            .unwrap()
            .with_sleeper(sleeper.clone()),
        sleeper,
    )
}

#[tokio::test]
async fn honours_retry_after_then_succeeds() {
    let (base, script) = serve(HashMap::from([(
        "/api/x",
        vec![(429, vec![("retry-after", "30".into())], "slow down".into())],
    )]))
    .await;
    let (c, sleeper) = client(&base, Auth::Bearer("t0ken".into()));
    let (v, _): (serde_json::Value, _) = c.get_json(&c.url("x").unwrap()).await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(sleeper.waits(), vec![Duration::from_secs(30)]);
    assert_eq!(c.stats().rate_limited(), 1);
    assert_eq!(script.seen_auth.lock().unwrap()[0], "Bearer t0ken");
}

#[tokio::test]
async fn server_errors_back_off_then_succeed() {
    let (base, _) = serve(HashMap::from([(
        "/api/x",
        vec![
            (502, vec![], "bad gateway".into()),
            (500, vec![], "oops".into()),
        ],
    )]))
    .await;
    let (c, sleeper) = client(&base, Auth::None);
    c.get(&c.url("x").unwrap()).await.unwrap();
    assert_eq!(sleeper.waits().len(), 2);
    assert_eq!(c.stats().retries(), 2);
}

#[tokio::test]
async fn gives_up_after_max_retries_as_transient() {
    let steps = vec![(503, vec![], String::new()); 10];
    let (base, _) = serve(HashMap::from([("/api/x", steps)])).await;
    let (c, _) = client(&base, Auth::None);
    let e = c
        .get(&c.url("x?private_token=abc").unwrap())
        .await
        .unwrap_err();
    assert!(e.transient);
    assert_eq!(e.status, Some(503));
    assert!(e.message.contains("gave up after 3 retries"), "{e}");
    assert!(!e.url.contains("abc"), "{e}");
}

#[tokio::test]
async fn auth_failures_are_fatal_with_a_hint() {
    let (base, script) = serve(HashMap::from([(
        "/api/x",
        vec![(401, vec![], r#"{"message":"Unauthorized"}"#.into())],
    )]))
    .await;
    let (c, sleeper) = client(
        &base,
        Auth::Basic {
            user: "me@example.com".into(),
            password: "tok".into(),
        },
    );
    let e = c.get(&c.url("x").unwrap()).await.unwrap_err();
    assert!(!e.transient);
    assert!(e.message.contains("check the source's credentials"), "{e}");
    assert!(sleeper.waits().is_empty());
    // base64("me@example.com:tok")
    assert_eq!(
        script.seen_auth.lock().unwrap()[0],
        "Basic bWVAZXhhbXBsZS5jb206dG9r"
    );
    assert!(!format!("{:?}", Auth::Bearer("secret".into())).contains("secret"));
}

#[tokio::test]
async fn malformed_json_names_the_url_and_position() {
    let (base, _) = serve(HashMap::from([(
        "/api/x",
        vec![(200, vec![], r#"{"results": [1, 2"#.into())],
    )]))
    .await;
    let (c, _) = client(&base, Auth::None);
    let e = c
        .get_json::<serde_json::Value>(&c.url("x").unwrap())
        .await
        .unwrap_err();
    assert!(
        e.message.contains("malformed JSON") && e.message.contains("line 1"),
        "{e}"
    );
    assert!(e.url.ends_with("/api/x"), "{e}");
}

#[tokio::test]
async fn exhausted_budget_pauses_the_next_request() {
    let (base, _) = serve(HashMap::from([(
        "/api/x",
        vec![(
            200,
            vec![
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", "5".into()),
            ],
            "{}".into(),
        )],
    )]))
    .await;
    let (c, sleeper) = client(&base, Auth::None);
    c.get(&c.url("x").unwrap()).await.unwrap();
    assert!(sleeper.waits().is_empty());
    c.get(&c.url("x").unwrap()).await.unwrap();
    let w = sleeper.waits();
    assert_eq!(w.len(), 1);
    assert!(
        w[0] > Duration::from_secs(4) && w[0] <= Duration::from_secs(5),
        "{w:?}"
    );
}

#[tokio::test]
async fn refuses_other_origins_and_oversized_or_overlong_waits() {
    let (base, _) = serve(HashMap::from([
        ("/api/big", vec![(200, vec![], "x".repeat(4096))]),
        (
            "/api/later",
            vec![(429, vec![("retry-after", "86400".into())], String::new())],
        ),
    ]))
    .await;
    let sleeper = Arc::new(VirtualSleeper::default());
    let settings = HttpSettings {
        requests_per_second: 1000.0,
        max_response_bytes: 2048,
        ..Default::default()
    };
    let c = HttpClient::new(&base, &Auth::None, &settings)
        .unwrap()
        .with_sleeper(sleeper.clone());
    let e = c.url("https://evil.example/steal").unwrap_err();
    assert!(e.message.contains("another origin"), "{e}");
    let e = c.get(&c.url("big").unwrap()).await.unwrap_err();
    assert!(e.message.contains("max_response_bytes"), "{e}");
    let e = c.get(&c.url("later").unwrap()).await.unwrap_err();
    assert!(
        e.transient && e.message.contains("max_retry_after_secs"),
        "{e}"
    );
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn rate_budget_spaces_requests() {
    let (base, _) = serve(HashMap::new()).await;
    let settings = HttpSettings {
        requests_per_second: 50.0,
        burst: 1,
        ..Default::default()
    };
    let c = HttpClient::new(&base, &Auth::None, &settings).unwrap();
    let t = Instant::now();
    for _ in 0..6 {
        c.get(&c.url("x").unwrap()).await.unwrap();
    }
    // 5 waits of 20 ms after the first request.
    assert!(
        t.elapsed() >= Duration::from_millis(95),
        "{:?}",
        t.elapsed()
    );
}

/// A redirect off the configured origin is refused, so a custom credential
/// header (GitLab's PRIVATE-TOKEN) never reaches another host; a redirect
/// within the origin is followed.
#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_host() {
    let (other, other_script) = serve(HashMap::new()).await;
    let (base, _) = serve(HashMap::from([
        (
            "/api/away",
            vec![(
                302,
                vec![("location", format!("{other}/steal"))],
                String::new(),
            )],
        ),
        (
            "/api/moved",
            vec![(
                301,
                vec![("location", "/api/here".to_string())],
                String::new(),
            )],
        ),
    ]))
    .await;
    let (c, _) = client(
        &base,
        Auth::Header {
            name: "PRIVATE-TOKEN".into(),
            value: "glpat-secret".into(),
        },
    );
    let err = c
        .get_json::<serde_json::Value>(&c.url("away").unwrap())
        .await
        .err()
        .expect("the redirect must fail");
    assert!(
        !err.transient && err.message.contains("another origin"),
        "{err}"
    );
    assert!(
        other_script.seen_auth.lock().unwrap().is_empty(),
        "the token reached another host"
    );
    assert!(
        other_script.calls.lock().unwrap().is_empty(),
        "nothing was sent to the other host"
    );
    let (v, _) = c
        .get_json::<serde_json::Value>(&c.url("moved").unwrap())
        .await
        .unwrap();
    assert_eq!(v["ok"], true, "same-origin redirects are followed");
}
