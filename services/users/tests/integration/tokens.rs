//! The access-token table: every token that is not exactly what the users service issues —
//! expired, not yet valid, another issuer or audience, `alg: none`, another key, another
//! algorithm, tampered, missing claims — is refused with 401 (REST) / UNAUTHENTICATED (gRPC).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::Utc;
use ferrocast_proto::client::UsersAuthError;
use ferrocast_testkit::Account;
use ferrocast_users::DEV_JWT_SECRET;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::start_users;

fn claims(user: &Account) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "iss": "ferrocast-users",
        "aud": "ferrocast",
        "sub": user.user_id,
        "name": user.username,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn with(user: &Account, change: impl FnOnce(&mut Value)) -> String {
    let mut claims = claims(user);
    change(&mut claims);
    sign(&claims, Algorithm::HS256, DEV_JWT_SECRET.as_bytes())
}

fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{header}.{payload}.")
}

/// A valid token whose payload was edited afterwards (signature kept).
fn tampered(token: &str, other_user: &Account) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!(other_user.user_id);
    payload["name"] = json!(other_user.username);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

#[tokio::test]
async fn crafted_tokens_are_refused_and_the_genuine_article_accepted() {
    let app = start_users().await;
    let user = app.account().await;
    let victim = app.account().await;
    let now = Utc::now().timestamp();

    // Control: a token crafted exactly like the service's own works, so refusals below are
    // caused by the one thing each case changes.
    let control = with(&user, |_| {});
    assert_eq!(
        app.get_with_token("/api/users/me", &control).await.status(),
        200
    );
    assert_eq!(
        app.get_with_token("/api/users/me", &user.token)
            .await
            .status(),
        200
    );

    let mut missing_exp = claims(&user);
    missing_exp.as_object_mut().unwrap().remove("exp");
    let mut missing_nbf = claims(&user);
    missing_nbf.as_object_mut().unwrap().remove("nbf");
    let cases: Vec<(&str, String)> = vec![
        ("expired", with(&user, |c| c["exp"] = json!(now - 600))),
        (
            "not yet valid",
            with(&user, |c| c["nbf"] = json!(now + 600)),
        ),
        (
            "issued in the future",
            with(&user, |c| c["iat"] = json!(now + 600)),
        ),
        (
            "wrong issuer",
            with(&user, |c| c["iss"] = json!("someone-else")),
        ),
        (
            "wrong audience",
            with(&user, |c| c["aud"] = json!("another-app")),
        ),
        ("alg none", unsigned(&claims(&user))),
        (
            "wrong key",
            sign(&claims(&user), Algorithm::HS256, &[7u8; 32]),
        ),
        (
            "other algorithm, same key",
            sign(&claims(&user), Algorithm::HS512, DEV_JWT_SECRET.as_bytes()),
        ),
        ("tampered payload", tampered(&user.token, &victim)),
        (
            "missing exp",
            sign(&missing_exp, Algorithm::HS256, DEV_JWT_SECRET.as_bytes()),
        ),
        (
            "missing nbf",
            sign(&missing_nbf, Algorithm::HS256, DEV_JWT_SECRET.as_bytes()),
        ),
        ("garbage", "not.a.jwt".to_owned()),
        ("empty", String::new()),
    ];

    let auth = app.users_auth();
    for (case, token) in &cases {
        let response = app.get_with_token("/api/users/me", token).await;
        assert_eq!(response.status(), 401, "{case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{case}");

        // The same token as a cookie is refused too.
        let response = reqwest::Client::new()
            .get(app.users_url("/api/users/me/stream-key"))
            .header("cookie", format!("ferrocast_session={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{case} (cookie)");

        assert!(
            matches!(
                auth.validate_token(token, None).await,
                Err(UsersAuthError::Rejected)
            ),
            "{case} (gRPC)"
        );
    }
}

#[tokio::test]
async fn validate_token_returns_the_claims_of_a_login_token() {
    let app = start_users().await;
    let user = app.account().await;
    let claims = app
        .users_auth()
        .validate_token(&user.token, Some("r-1"))
        .await
        .unwrap();
    assert_eq!(claims.user_id, user.user_id);
    assert_eq!(claims.username, user.username);
    let lifetime = claims.expires_at - claims.issued_at;
    assert!(
        (3000..=3600).contains(&lifetime),
        "about an hour: {lifetime}"
    );
    assert!(!claims.token_id.is_empty());

    // Each login gets its own token id.
    let second = app.account().await;
    let other = app
        .users_auth()
        .validate_token(&second.token, None)
        .await
        .unwrap();
    assert_ne!(other.token_id, claims.token_id);
}
