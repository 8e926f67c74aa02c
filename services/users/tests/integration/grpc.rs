//! The internal gRPC surface: the service token is required on every `users.v1.Auth` call,
//! health and reflection answer without one, and lookups behave as the proto documents.

use crate::start_users;
use ferrocast_proto::{
    client::UsersAuthError,
    users_v1::{
        get_user_request::By, AuthenticateStreamKeyRequest, GetUserRequest, ValidateTokenRequest,
    },
};
use tonic::Code;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use tonic_reflection::pb::v1::{
    server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
    server_reflection_response::MessageResponse, ServerReflectionRequest,
};

#[tokio::test]
async fn calls_without_or_with_a_wrong_service_token_are_unauthenticated() {
    let app = start_users().await;
    let user = app.account().await;
    let key = app.rotate_key(&user.token).await;

    for token in [
        None,
        Some("wrong-token"),
        Some("ferrocast-test-service-token-not-for-production-and-more"),
        Some(ferrocast_users::DEV_SERVICE_TOKEN),
    ] {
        let mut client = app.raw_grpc(token);
        let status = client
            .authenticate_stream_key(AuthenticateStreamKeyRequest {
                stream_key: key.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{token:?}");
        let status = client
            .validate_token(ValidateTokenRequest {
                token: user.token.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{token:?}");
        let status = client
            .get_user(GetUserRequest {
                by: Some(By::Username(user.username.clone())),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{token:?}");
    }

    // The right token on the same raw client works.
    let mut client = app.raw_grpc(Some(ferrocast_kit::config::TEST_SERVICE_TOKEN));
    let reply = client
        .authenticate_stream_key(AuthenticateStreamKeyRequest { stream_key: key })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.username, user.username);
}

#[tokio::test]
async fn health_reports_serving_without_a_token() {
    let app = start_users().await;
    let mut health = HealthClient::new(app.users_channel());
    for service in ["", "users.v1.Auth"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.status, ServingStatus::Serving as i32, "{service:?}");
    }
}

#[tokio::test]
async fn reflection_lists_the_auth_service_without_a_token() {
    let app = start_users().await;
    let mut reflection = ServerReflectionClient::new(app.users_channel());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = reflection
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("unexpected reflection reply");
    };
    assert!(list.service.iter().any(|s| s.name == "users.v1.Auth"));
}

#[tokio::test]
async fn get_user_finds_users_by_id_and_by_name_and_reports_unknown_ones() {
    let app = start_users().await;
    let user = app.account().await;
    let auth = app.users_auth();

    let by_name = auth
        .get_user_by_name(&user.username.to_uppercase(), None)
        .await
        .unwrap();
    assert_eq!(by_name.user_id, user.user_id);

    let mut raw = app.raw_grpc(Some(ferrocast_kit::config::TEST_SERVICE_TOKEN));
    let by_id = raw
        .get_user(GetUserRequest {
            by: Some(By::UserId(user.user_id.clone())),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_id.username, user.username);
    assert!(by_id.created_at > 0);

    assert!(matches!(
        auth.get_user_by_name("nobody_home", None).await,
        Err(UsersAuthError::Rejected)
    ));
    let status = raw
        .get_user(GetUserRequest {
            by: Some(By::UserId("no-such-id".into())),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = raw.get_user(GetUserRequest { by: None }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn grpc_calls_and_auth_failures_are_counted_in_metrics() {
    let app = start_users().await;
    let auth = app.users_auth();
    assert!(auth
        .authenticate_stream_key("live_nope", None)
        .await
        .is_err());
    let mut intruder = app.raw_grpc(Some("wrong-token"));
    assert!(intruder
        .get_user(GetUserRequest { by: None })
        .await
        .is_err());

    let metrics = reqwest::get(app.users_url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = |needle: &str| {
        metrics
            .lines()
            .any(|l| l.starts_with("users_") && l.contains(needle))
    };
    assert!(counted(r#"method="AuthenticateStreamKey""#), "{metrics}");
    assert!(counted(r#"code="Unauthenticated""#), "{metrics}");
    assert!(counted(r#"kind="service_token""#), "{metrics}");
    assert!(counted(r#"kind="stream_key""#), "{metrics}");
}

#[tokio::test]
async fn cancelling_the_shutdown_token_stops_both_servers() {
    let mut app = start_users().await;
    let (http_addr, grpc_addr) = (app.users_http, app.users_grpc);
    tokio::time::timeout(std::time::Duration::from_secs(10), app.stop_users())
        .await
        .expect("the service stops within its grace period");
    assert!(tokio::net::TcpStream::connect(http_addr).await.is_err());
    assert!(tokio::net::TcpStream::connect(grpc_addr).await.is_err());
}
