//! Runs every flow that handles a secret with TRACE logging captured, then proves that no
//! password, full stream key, access token, service token or JWT secret reached the logs.

use ferrocast_kit::config::TEST_SERVICE_TOKEN;
use ferrocast_proto::users_v1::{AuthenticateStreamKeyRequest, ValidateTokenRequest};
use ferrocast_testkit::LogCapture;
use ferrocast_testkit::{Options, Platform};
use ferrocast_users::DEV_JWT_SECRET;
use serde_json::json;

#[test]
fn logs_never_contain_passwords_stream_keys_or_tokens() {
    let capture = LogCapture::new();
    capture.run(async {
        let mut app = Platform::start(Options::users()).await.unwrap();

        let user = app.account().await;
        let wrong_password = "Wr0ng-but-secret-passw0rd";
        // No cookie store here: the cookie_store crate debug-logs cookie values on the client side.
        // The session cookie is carried by hand instead.
        let client = reqwest::Client::new();
        assert_eq!(
            app.post_login(&client, &user.username, wrong_password)
                .await
                .status(),
            401
        );
        assert_eq!(
            app.post_login(&client, "ghost_user_x", wrong_password)
                .await
                .status(),
            401
        );
        let login = app.post_login(&client, &user.email, &user.password).await;
        assert_eq!(login.status(), 200);
        let session = login.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let me = client
            .get(app.users_url("/api/users/me"))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        // A signup that fails validation still carries a password.
        let rejected_password = "Sh0rt!";
        assert_eq!(
            app.signup("x", "bad", rejected_password).await.status(),
            422
        );
        let body =
            json!({ "username": "y", "password": "Truncated-secret-in-bad-json" }).to_string();
        let garbage = client
            .post(app.users_url("/api/users"))
            .header("content-type", "application/json")
            .body(format!("{}!!", &body))
            .send()
            .await
            .unwrap();
        assert_eq!(garbage.status(), 400);

        let first_key = app.rotate_key(&user.token).await;
        let key = app.rotate_key(&user.token).await;
        let auth = app.users_auth();
        assert!(auth
            .authenticate_stream_key(&key, Some("trace-me-1"))
            .await
            .is_ok());
        assert!(auth
            .authenticate_stream_key(&first_key, None)
            .await
            .is_err());
        assert!(auth.validate_token(&user.token, None).await.is_ok());
        let mut intruder = app.raw_grpc(Some("intruder-service-token"));
        assert!(intruder
            .authenticate_stream_key(AuthenticateStreamKeyRequest {
                stream_key: key.clone()
            })
            .await
            .is_err());
        assert!(intruder
            .validate_token(ValidateTokenRequest {
                token: user.token.clone()
            })
            .await
            .is_err());
        let logout = client
            .post(app.users_url("/api/users/logout"))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), 204);
        app.stop_users().await;

        let logs = capture.contents();
        assert!(
            logs.contains("user logged in"),
            "the capture must see the service's logs"
        );
        assert!(logs.contains("trace-me-1"), "gRPC request ids are logged");
        let secrets = [
            ("password", user.password.as_str()),
            ("wrong password", wrong_password),
            ("rejected password", rejected_password),
            ("password in bad JSON", "Truncated-secret-in-bad-json"),
            ("stream key", key.as_str()),
            ("rotated-out stream key", first_key.as_str()),
            // Stream key bodies without the `live_` scheme, in case something logged a slice.
            ("stream key body", &key[5..]),
            ("access token", user.token.as_str()),
            (
                "session cookie token",
                session.trim_start_matches("ferrocast_session="),
            ),
            (
                "access token signature",
                user.token.rsplit('.').next().unwrap(),
            ),
            ("service token", TEST_SERVICE_TOKEN),
            ("intruder's service token", "intruder-service-token"),
            ("JWT secret", DEV_JWT_SECRET),
        ];
        for (what, secret) in secrets {
            assert!(!logs.contains(secret), "the logs contain the {what}");
        }
    });
}
