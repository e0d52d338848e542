//! JWT bearer tokens on the search API: HS256 (shared secret) and RS256
//! (JWK Set) map `sub` and the groups claim to principals; expired tokens,
//! other audiences, bad signatures and unknown keys are refused. A test
//! binary of its own: it sets an environment variable before any thread
//! reads the environment.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use sluice_tests::{embedder, pipeline, run, write_jsonl};

const SECRET: &str = "a-test-only-hs256-secret-of-40-bytes-abc";

fn token(alg: Algorithm, claims: Value) -> String {
    let repo = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    match alg {
        Algorithm::HS256 => encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap(),
        _ => {
            let pem = std::fs::read(repo.join("data/jwt/test-rs256.pem")).unwrap();
            let mut h = Header::new(alg);
            h.kid = Some("test-key-1".into());
            encode(&h, &claims, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
        }
    }
}

fn claims(sub: &str, groups: &[&str], aud: &str, exp_in: i64) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    json!({ "sub": sub, "groups": groups, "aud": aud, "iss": "https://idp.test", "exp": now + exp_in, "iat": now })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_callers_see_what_their_principals_may_read() {
    // SAFETY: the first thing this single-test binary does.
    unsafe { std::env::set_var("SLUICE_TEST_JWT_SECRET", SECRET) };
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(
        &dir.path().join("kb.jsonl"),
        &[
            json!({"id": "pub", "title": "Office wifi", "text": "The wifi password rotates monthly."}),
            json!({"id": "eng", "title": "Deploy keys", "text": "Deploy keys rotate monthly for engineering.", "acl": ["group:eng"]}),
            json!({"id": "alice", "title": "Alice review", "text": "Performance review notes rotate monthly.", "acl": ["user:alice"]}),
        ],
    );
    let yaml = "name: jwt\nsources:\n  - id: kb\n    type: files\n    settings:\n      path: kb.jsonl\n      mapping:\n        acl: acl\n        acl_fallback: public\n";
    let p = pipeline(yaml, dir.path(), &dir.path().join("data")).await;
    run(&p, yaml, dir.path(), false).await;
    let jwks =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("data/jwt");
    // Who each subject and group is in the files source (principals as the
    // pipeline author wrote them); `finance` maps to nothing.
    let map = dir.path().join("identities.yaml");
    std::fs::write(
        &map,
        "users:\n  alice: [user:alice]\ngroups:\n  eng: [group:eng]\n  finance: []\n",
    )
    .unwrap();
    let no_map = "jwt:\n  audience: sluice\n  issuer: https://idp.test\n  hs256_secret_env: SLUICE_TEST_JWT_SECRET\n  jwks_file: jwks.json\n";
    assert!(
        sluice_api::ApiKeys::parse_in(no_map, &jwks)
            .unwrap_err()
            .contains("identity_map"),
        "JWTs without an identity map are refused"
    );
    let keys =
        sluice_api::ApiKeys::parse_in(&format!("{no_map}identity_map: {}\n", map.display()), &jwks)
            .unwrap();
    assert!(keys.accepts_jwt());
    let app = sluice_api::router(sluice_api::ApiState::with_keys(
        p.search_backend().unwrap(),
        embedder(),
        keys,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let search = |tok: String| {
        let http = http.clone();
        async move {
            let r = http
                .post(format!("http://{addr}/v1/search"))
                .bearer_auth(tok)
                .json(&json!({"query": "rotate monthly", "mode": "keyword"}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            let ids: Vec<String> = v["hits"]
                .as_array()
                .map(|h| {
                    h.iter()
                        .map(|x| x["external_id"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            (status, ids, v)
        }
    };

    let (s, mut ids, _) = search(token(
        Algorithm::HS256,
        claims("bob", &["eng"], "sluice", 300),
    ))
    .await;
    ids.sort();
    assert_eq!((s, ids), (200, vec!["eng".to_string(), "pub".to_string()]));
    let (s, mut ids, _) =
        search(token(Algorithm::RS256, claims("alice", &[], "sluice", 300))).await;
    ids.sort();
    assert_eq!(
        (s, ids),
        (200, vec!["alice".to_string(), "pub".to_string()])
    );
    // Unmapped callers read public documents only, whatever their token
    // claims: an unknown subject, an unmapped group, and a group named
    // like a stored principal.
    for (sub, groups) in [
        ("mallory", vec![]),
        ("mallory", vec!["finance"]),
        ("user:alice", vec!["group:eng"]),
    ] {
        let (s, ids, _) =
            search(token(Algorithm::HS256, claims(sub, &groups, "sluice", 300))).await;
        assert_eq!((s, ids), (200, vec!["pub".to_string()]), "{sub} {groups:?}");
    }

    for (tok, why) in [
        (
            token(Algorithm::HS256, claims("bob", &["eng"], "sluice", -3600)),
            "token expired",
        ),
        (
            token(Algorithm::RS256, claims("alice", &[], "another-app", 300)),
            "another audience",
        ),
        (
            encode(
                &Header::new(Algorithm::HS256),
                &claims("mallory", &["eng"], "sluice", 300),
                &EncodingKey::from_secret(b"not-the-secret-but-long-enough-000000000"),
            )
            .unwrap(),
            "signature",
        ),
        // Not valid for another hour.
        (
            token(Algorithm::HS256, {
                let mut c = claims("bob", &["eng"], "sluice", 7200);
                c["nbf"] = json!(c["iat"].as_i64().unwrap() + 3600);
                c
            }),
            "not valid yet",
        ),
        // From another issuer (another tenant of the same provider).
        (
            token(Algorithm::HS256, {
                let mut c = claims("bob", &["eng"], "sluice", 300);
                c["iss"] = json!("https://evil.test");
                c
            }),
            "another issuer",
        ),
        // Without `iss` at all.
        (
            token(Algorithm::HS256, {
                let mut c = claims("bob", &["eng"], "sluice", 300);
                c.as_object_mut().unwrap().remove("iss");
                c
            }),
            "iss",
        ),
    ] {
        let (s, ids, v) = search(tok).await;
        assert_eq!(s, 401, "{why}: {v}");
        assert!(ids.is_empty());
        assert!(v["error"].as_str().unwrap().contains(why), "{why}: {v}");
    }
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("someone-elses-key".into());
    let pem = std::fs::read(jwks.join("test-rs256.pem")).unwrap();
    let foreign = encode(
        &h,
        &claims("alice", &[], "sluice", 300),
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap();
    let (s, _, v) = search(foreign).await;
    assert_eq!(s, 401);
    assert!(
        v["error"].as_str().unwrap().contains("unknown signing key"),
        "{v}"
    );

    jwks_from_a_url_follow_key_rotation(&p).await;
}

/// `jwt.jwks_url`: fetched at start; a token naming a key not seen yet
/// fetches the set again (the provider rotated keys), at most once per
/// `jwks_refresh_secs`, so unknown-key tokens cannot hammer the provider.
async fn jwks_from_a_url_follow_key_rotation(p: &sluice_engine::Pipeline) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let dir =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("data/jwt");
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("jwks.json")).unwrap()).unwrap();
    // The same RSA key published under a new `kid`, as after a rotation.
    let set_with_kid = |kid: &str| {
        let mut set = file.clone();
        set["keys"][0]["kid"] = json!(kid);
        set
    };
    let published = Arc::new(Mutex::new(set_with_kid("rot-1")));
    let fetches = Arc::new(AtomicUsize::new(0));
    let idp = {
        let (published, fetches) = (published.clone(), fetches.clone());
        axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                fetches.fetch_add(1, Ordering::SeqCst);
                let body = published.lock().unwrap().clone();
                async move { axum::Json(body) }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, idp).await.unwrap() });

    let map_dir = tempfile::tempdir().unwrap();
    let map = map_dir.path().join("identities.yaml");
    std::fs::write(&map, "groups:\n  eng: [group:eng]\n").unwrap();
    let keys = sluice_api::ApiKeys::parse(&format!(
        "jwt:\n  audience: sluice\n  issuer: https://idp.test\n  jwks_url: http://{idp_addr}/jwks.json\n  jwks_refresh_secs: 1\n  admin_group: ops\nidentity_map: {}\n",
        map.display()
    ))
    .unwrap();
    assert_eq!(keys.fetch_jwks().await.unwrap(), 1);
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    let app = sluice_api::router(sluice_api::ApiState::with_keys(
        p.search_backend().unwrap(),
        embedder(),
        keys,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let pem = std::fs::read(dir.join("test-rs256.pem")).unwrap();
    let signed = |kid: &str| {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.into());
        encode(
            &h,
            &claims("alice", &[], "sluice", 300),
            &EncodingKey::from_rsa_pem(&pem).unwrap(),
        )
        .unwrap()
    };
    let http = reqwest::Client::new();
    let status = |tok: String| {
        let http = http.clone();
        async move {
            let r = http
                .post(format!("http://{addr}/v1/search"))
                .bearer_auth(tok)
                .json(&json!({"query": "rotate monthly", "mode": "keyword"}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    };
    assert_eq!(status(signed("rot-1")).await, 200);
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "a known key needs no fetch"
    );
    // Not published yet: refused, and repeated unknown keys within the
    // refresh interval cost at most one more fetch.
    for _ in 0..5 {
        assert_eq!(status(signed("rot-2")).await, 401);
    }
    assert!(
        fetches.load(Ordering::SeqCst) <= 2,
        "{} fetches",
        fetches.load(Ordering::SeqCst)
    );
    *published.lock().unwrap() = set_with_kid("rot-2");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        status(signed("rot-2")).await,
        200,
        "the rotated key is fetched on first use"
    );
    assert_eq!(
        status(signed("rot-1")).await,
        401,
        "a key the provider no longer publishes is refused (replaced, not accumulated)"
    );
    // A JWK Set larger than 256 KiB is refused, not read whole.
    // (Without the cap this set would be read and `rot-3` accepted.)
    let mut big = set_with_kid("rot-3");
    big["padding"] = json!("x".repeat(300 * 1024));
    *published.lock().unwrap() = big;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        status(signed("rot-3")).await,
        401,
        "the oversized set was not read"
    );
    let cfg = |extra: &str| {
        sluice_api::ApiKeys::parse(&format!("jwt:\n  audience: a\n{extra}"))
            .map(|_| ())
            .unwrap_err()
    };
    assert!(
        cfg("  issuer: https://idp.test\n  jwks_url: file:///etc/passwd\n").contains("http(s) URL")
    );
    assert!(
        cfg("  issuer: https://idp.test\n  jwks_url: http://idp.example/jwks.json\n")
            .contains("use https"),
        "plain http off this machine"
    );
    assert!(cfg("  jwks_url: https://idp.example/jwks.json\n").contains("jwt.issuer is required"));
}
