//! The MCP endpoint on `lambda_http`.

use lambda_http::{Body, Request, Response};
use pmcp_tasks::TaskServer;

/// Serves `server`'s `/mcp` endpoint to Lambda HTTP events (function URL,
/// API Gateway REST or HTTP API, ALB) until the runtime stops.
pub async fn run_http(server: TaskServer) -> Result<(), crate::Error> {
    lambda_http::run(server.http_router()).await
}

/// Answers one HTTP request as [`run_http`] does: what a test drives with
/// a synthetic event (`lambda_http::request::from_str`).
pub async fn handle_http(server: &TaskServer, request: Request) -> Response<Body> {
    use http_body_util::BodyExt;
    use lambda_http::tower::ServiceExt;
    let response = match server.http_router().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(e) => {
            tracing::error!(error = %e, "could not read the endpoint's answer");
            Vec::new()
        }
    };
    Response::from_parts(parts, Body::from(bytes))
}
