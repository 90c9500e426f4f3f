//! The API contract comes from the code: the served OpenAPI document is the router's, every
//! route is documented and every documented operation is routed, with its errors documented.

use std::collections::BTreeSet;

use crate::common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(the_served_document_is_the_routers_and_every_operation_is_routed);

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

/// (path, method) of every operation in a document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((path.clone(), m.to_string()));
            }
        }
    }
    out
}

fn is_public(op: &Value) -> bool {
    op["security"]
        .as_array()
        .is_some_and(|s| s.iter().all(|r| r.as_object().is_some_and(|o| o.is_empty())))
}

async fn the_served_document_is_the_routers_and_every_operation_is_routed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let res = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the document is public");
    let served: Value = res.json().await.unwrap();
    assert!(
        served["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        served["openapi"]
    );
    assert_eq!(served["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

    // The router's own operations, as `OpenApiRouter` registered them with their handlers.
    let (_, from_router) = borgertun::web::api::openapi_router().split_for_parts();
    let from_router = serde_json::to_value(&from_router).unwrap();
    assert_eq!(
        operations(&served),
        operations(&from_router),
        "the served document has exactly the router's operations"
    );
    assert_eq!(served, serde_json::to_value(borgertun::web::api::spec()).unwrap());
    for path in [
        "/healthz",
        "/api/v1/openapi.json",
        "/api/v1/bookings",
        "/api/v1/bookings/{id}",
        "/api/v1/bookings/{id}/approve",
        "/api/v1/rooms/{room}/availability",
        "/api/v1/conflicts",
        "/api/v1/feeds",
        "/api/v1/feeds/{id}/revoke",
        "/api/v1/reports/summary",
    ] {
        assert!(served["paths"].get(path).is_some(), "the document lacks {path}");
    }

    // Every error code is one enum in the document.
    let codes: Vec<&str> = served["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode is an enum")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for code in [
        "unauthorized",
        "forbidden",
        "not_found",
        "busy",
        "invalid_json",
        "invalid_query",
        "invalid_path",
        "payload_too_large",
        "unsupported_media_type",
        "reason_required",
        "measure_not_in_force",
    ] {
        assert!(codes.contains(&code), "ErrorCode lacks {code}: {codes:?}");
    }

    for (path, method) in operations(&served) {
        let op = &served["paths"][&path][&method];
        let responses = op["responses"].as_object().unwrap();
        // Every error answer is documented with the one error body.
        for (status, r) in responses {
            if status.starts_with('4') || (status.starts_with('5') && path != "/healthz") {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
        // Routed: without a token, a protected operation answers 401 (never the fallback's
        // 404 or 405), a public one answers.
        let url = format!(
            "{}{}",
            app.base,
            path.replace("{id}", "1").replace("{room}", "borgertun")
        );
        let res = app
            .client
            .request(method.to_uppercase().parse().unwrap(), &url)
            .send()
            .await
            .unwrap();
        if is_public(op) {
            assert_eq!(res.status(), StatusCode::OK, "{method} {path}");
        } else {
            assert!(responses.contains_key("401"), "{method} {path} documents no 401");
            assert!(responses.contains_key("503"), "{method} {path} documents no 503");
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path} is not routed");
            let v: Value = res.json().await.unwrap();
            assert_eq!(v["errors"][0]["code"], "unauthorized", "{method} {path}");
        }
    }
}
