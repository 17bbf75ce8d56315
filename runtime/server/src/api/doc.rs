//! The parts of the OpenAPI document that no single handler's annotation says: the
//! statuses every route can answer (401 and 403 on `/v1`, 408 everywhere, 400, 413 and 415
//! where there is a body or a query, 503 where storage is read), and the pipeline document's
//! JSON Schema (`quiver_spec::json_schema()`, the same types the server reads) as the
//! `Pipeline` component, used by the request bodies that carry a pipeline.
//!
//! The document is finished as JSON: the pipeline schema is JSON Schema 2020-12 as schemars
//! writes it, which OpenAPI 3.1 takes as it is (its `$defs` become `pipeline.*`
//! components), while utoipa's own schema model would lose keywords on the way.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::auth::Scope;

/// Prefix of the pipeline schema's definitions among the components.
const DEFS: &str = "pipeline.";

/// The finished document.
pub(super) fn finish(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    add_pipeline_schema(&mut doc);
    add_common_responses(&mut doc);
    binary_bodies(&mut doc);
    doc
}

/// Bodies of bytes (a component, an Arrow stream) are binary strings, not the array of
/// integers utoipa makes of a `Vec<u8>`.
fn binary_bodies(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let Some(content) = op
                .get_mut("requestBody")
                .and_then(|b| b.get_mut("content"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (media, body) in content.iter_mut() {
                if [
                    "application/wasm",
                    "application/octet-stream",
                    "application/vnd.apache.arrow.stream",
                ]
                .contains(&media.as_str())
                {
                    body["schema"] = json!({"type": "string", "format": "binary", "minLength": 1});
                }
            }
        }
    }
}

/// `$ref`s to `#/$defs/X` pointed at `#/components/schemas/pipeline.X`.
fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/components/schemas/{DEFS}{name}");
            }
            map.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

fn add_pipeline_schema(doc: &mut Value) {
    let mut schema = quiver_spec::json_schema();
    rewrite_refs(&mut schema);
    let Some(root) = schema.as_object_mut() else {
        return;
    };
    root.remove("$schema");
    let defs = root.remove("$defs").unwrap_or_default();
    let pipeline_ref = json!({"$ref": "#/components/schemas/Pipeline"});
    let schemas = &mut doc["components"]["schemas"];
    if let Value::Object(defs) = defs {
        for (name, def) in defs {
            schemas[format!("{DEFS}{name}")] = def;
        }
    }
    // A server pipeline names its plugins; it never reads a component file a request names.
    schemas[format!("{DEFS}PluginRef")] = json!({
        "description": "A plugin name (`dedupe`: the newest version the server has) or a \
                        pinned version (`dedupe@0.1.0`); never a file on a server.",
        "type": "string",
        "pattern": "^[a-z0-9][a-z0-9_-]{0,63}(@[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.+-]*)?)?$",
        "examples": ["passthrough", "map@0.1.0"],
    });
    // An empty path is never a place (quiver-io refuses it): say so in the schema.
    for spec in ["SourceSpec", "SinkSpec"] {
        let path = &mut schemas[format!("{DEFS}{spec}")]["properties"]["path"];
        if path.is_object() {
            path["minLength"] = json!(1);
        }
    }
    schemas["Pipeline"] = schema;
    for holder in ["NewPipeline", "PipelineRecord"] {
        if schemas[holder]["properties"]["pipeline"].is_object() {
            let description = schemas[holder]["properties"]["pipeline"]["description"].clone();
            let mut r = pipeline_ref.clone();
            if !description.is_null() {
                r["description"] = description;
            }
            schemas[holder]["properties"]["pipeline"] = r;
        }
    }
    let put = &mut doc["paths"]["/v1/pipelines/{name}"]["put"]["requestBody"]["content"]["application/json"]
        ["schema"];
    if put.is_object() {
        *put = pipeline_ref;
    }
}

fn error_response(description: &str, header: Option<(&str, &str)>) -> Value {
    let mut r = json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    });
    if let Some((name, what)) = header {
        r["headers"] =
            json!({name: {"description": what, "required": true, "schema": {"type": "string"}}});
    }
    r
}

fn add_common_responses(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        let v1 = path.starts_with("/v1/");
        for (method, op) in item.iter_mut() {
            if !["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let has_body = op.get("requestBody").is_some();
            let has_query = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let Some(responses) = op["responses"].as_object_mut() else {
                continue;
            };
            let mut add = |status: &str, r: Value| {
                responses.entry(status).or_insert(r);
            };
            add(
                "408",
                error_response(
                    "the request took longer than the request timeout, or its body arrived too slowly",
                    None,
                ),
            );
            if v1 {
                add(
                    "401",
                    error_response(
                        "no valid bearer token (`Authorization: Bearer <token>`)",
                        Some(("WWW-Authenticate", "`Bearer`")),
                    ),
                );
                add(
                    "403",
                    error_response(
                        "the token lacks the scope this operation needs (named in the message \
                         and in `WWW-Authenticate`)",
                        Some((
                            "WWW-Authenticate",
                            "`Bearer error=\"insufficient_scope\"` with the scope",
                        )),
                    ),
                );
                add(
                    "503",
                    error_response(
                        "storage is unavailable, or the server is starting or draining; retry later",
                        Some(("Retry-After", "seconds to wait")),
                    ),
                );
            }
            if has_body || has_query {
                add(
                    "400",
                    error_response("the request is malformed (body or query)", None),
                );
            }
            if has_body {
                add(
                    "413",
                    error_response("the body is larger than this route takes", None),
                );
                add(
                    "415",
                    error_response("the body's Content-Type is not one this route takes", None),
                );
            }
        }
    }
}

/// The scope each `/v1` operation declares under `security`, by (method in upper case,
/// path).
pub(super) fn scopes(doc: &Value) -> HashMap<(String, String), Scope> {
    let mut out = HashMap::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let declared = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|req| req["bearer"].as_array())
                .flatten()
                .filter_map(|s| s.as_str().and_then(Scope::parse))
                .next();
            if let Some(scope) = declared {
                out.insert((method.to_ascii_uppercase(), path.clone()), scope);
            }
        }
    }
    out
}
