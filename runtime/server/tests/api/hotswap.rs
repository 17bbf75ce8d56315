//! Hot swap under load: 10,000 batches stream through a pipeline that follows the test
//! plugin `tagger` (which tags every row with its version) while three new versions are
//! uploaded, one of them broken (its output schema has an extra column, so the stage after
//! could not take it). Every row must come out exactly once, in order; rows pushed after a
//! good upload carry the new version; the broken upload changes nothing.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use quiver_tests::plugins;
use serde_json::json;

use crate::{TestServer, api_pipeline, read_csv};

const BATCHES: i64 = 10_000;
const ROWS_PER_BATCH: i64 = 5;

fn variant(version: &str) -> &'static str {
    plugins::TAGGER_VERSIONS
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, p)| *p)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_switch_a_running_stream_without_losing_or_duplicating_a_row() {
    let s = TestServer::new().await;
    s.upload(variant("1.0.0")).await;
    s.upload(plugins::PASSTHROUGH).await;
    // tagger follows the latest version; passthrough after it was built for its output.
    s.create_pipeline(
        "tagged",
        api_pipeline(
            json!([{"plugin": "tagger"}, {"plugin": "passthrough"}]),
            "tagged.csv",
        ),
    )
    .await;
    let id = s.start("tagged").await;

    // Batch index at which each upload happens, and what the upload must say.
    let uploads = [
        (2_500, "2.0.0", "pending"),
        (5_000, "3.0.0", "refused"),
        (7_500, "4.0.0", "pending"),
    ];
    // The first row pushed after each upload's response.
    let mut after_upload = BTreeMap::new();
    for b in 0..BATCHES {
        if let Some((_, version, outcome)) = uploads.iter().find(|(at, _, _)| *at == b) {
            let body = s.upload(variant(version)).await;
            let swaps = body["swaps"].as_array().unwrap();
            assert_eq!(swaps.len(), 1, "{body}");
            assert_eq!(swaps[0]["run"], id.as_str());
            assert_eq!(swaps[0]["stage"], "tagger");
            assert_eq!(swaps[0]["outcome"], *outcome, "{body}");
            if *outcome == "refused" {
                let reason = swaps[0]["reason"].as_str().unwrap();
                assert!(reason.contains("output schema"), "{reason}");
                assert!(reason.contains("`tagged_broken` extra"), "{reason}");
            }
            after_upload.insert(*version, b * ROWS_PER_BATCH);
        }
        let first = b * ROWS_PER_BATCH;
        let mut csv = String::from("id,name\n");
        for i in first..first + ROWS_PER_BATCH {
            csv.push_str(&format!("{i},r{i}\n"));
        }
        let (status, body) = s.push_csv(&id, csv).await;
        assert_eq!(status, StatusCode::OK, "batch {b}: {body}");
        assert_eq!(body["rows_accepted"], ROWS_PER_BATCH);
    }
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/v1/runs/{id}/stop"),
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = s.wait(&id).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    // Every row exactly once, in order.
    let rows = read_csv(&s.path("tagged.csv"));
    assert_eq!(rows.len() as i64, BATCHES * ROWS_PER_BATCH);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], i.to_string(), "row {i}: {r:?}");
        assert_eq!(r[1], format!("r{i}"));
    }
    // Versions only move forward, the broken one never ran.
    let tag = |i: i64| rows[i as usize][2].as_str();
    let order = ["1.0.0", "2.0.0", "4.0.0"];
    let mut seen = Vec::new();
    for r in &rows {
        let t = r[2].as_str();
        assert!(order.contains(&t), "unexpected tag {t}");
        if seen.last() != Some(&t) {
            assert!(
                !seen.contains(&t),
                "version {t} came back after another one"
            );
            seen.push(t);
        }
    }
    assert_eq!(seen, order, "each good version ran, in upload order");
    // Rows pushed after a good upload carry its version. (Rows pushed just before it may
    // carry it too: they were still queued, not yet taken by the stage, when it switched.)
    let first_row_of = |v: &str| rows.iter().position(|r| r[2] == v).unwrap() as i64;
    let two = after_upload["2.0.0"];
    let three = after_upload["3.0.0"];
    let four = after_upload["4.0.0"];
    assert!(
        first_row_of("2.0.0") <= two,
        "rows pushed after 2.0.0's upload"
    );
    assert!(
        first_row_of("4.0.0") <= four,
        "rows pushed after 4.0.0's upload"
    );
    assert!(
        first_row_of("4.0.0") > three,
        "4.0.0 ran before it was uploaded"
    );
    // The broken upload changed nothing: rows pushed around it are all 2.0.0.
    assert!((three - 100..three + 100).all(|i| tag(i) == "2.0.0"));

    // The run says what happened: two applied at the first row of each version, one
    // refused with its reason, and the report's lineage has both switches.
    let first_of = |v: &str| first_row_of(v) as u64;
    let swaps = done["swaps"].as_array().unwrap();
    let outcome = |to: &str| swaps.iter().find(|s| s["to"] == to).unwrap();
    assert_eq!(outcome("tagger@2.0.0")["outcome"], "applied", "{done}");
    assert_eq!(outcome("tagger@2.0.0")["at_row"], first_of("2.0.0"));
    assert_eq!(outcome("tagger@3.0.0")["outcome"], "refused");
    assert_eq!(outcome("tagger@4.0.0")["outcome"], "applied");
    assert_eq!(outcome("tagger@4.0.0")["at_row"], first_of("4.0.0"));
    assert_eq!(done["stages"][0]["plugin"], "tagger@4.0.0");
    let (_, report) = s.get(&format!("/v1/runs/{id}/report")).await;
    let lineage = report["stages"][0]["swaps"].as_array().unwrap();
    assert_eq!(lineage.len(), 2, "{report}");
    assert_eq!(lineage[0]["to_version"], "2.0.0");
    assert_eq!(lineage[1]["from_version"], "2.0.0");
    assert_eq!(lineage[1]["to_version"], "4.0.0");
    assert_eq!(report["rows_written"], BATCHES * ROWS_PER_BATCH);
    let (_, errors) = s.get(&format!("/v1/runs/{id}/errors")).await;
    assert!(
        errors
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "swap" && e["plugin"] == "tagger@3.0.0"),
        "{errors}"
    );
    let (_, metrics) = s.get("/metrics").await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains(
            "quiver_swaps_total{pipeline=\"tagged\",stage=\"tagger\",outcome=\"applied\"} 2"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_pin_swaps_the_running_stage() {
    let s = TestServer::new().await;
    s.upload(variant("1.0.0")).await;
    s.upload(variant("2.0.0")).await;
    let pinned =
        |v: &str, sink: &str| api_pipeline(json!([{"plugin": format!("tagger@{v}")}]), sink);
    s.create_pipeline("pins", pinned("1.0.0", "pins.csv")).await;
    let id = s.start("pins").await;
    assert_eq!(
        s.push_csv(&id, crate::csv_rows(0, 4)).await.0,
        StatusCode::OK
    );
    // A push is accepted before the engine has set up its stages; a swap offered before
    // that is refused ("the run has not started"). Wait until the stage has seen the rows.
    for _ in 0..6000 {
        let (_, run) = s.get(&format!("/v1/runs/{id}")).await;
        if run["stages"][0]["rows_in"].as_i64().unwrap_or(0) >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, body) = s
        .put_json("/v1/pipelines/pins", &pinned("2.0.0", "pins.csv"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["swaps"][0]["outcome"], "pending", "{body}");
    assert_eq!(
        s.push_csv(&id, crate::csv_rows(4, 4)).await.0,
        StatusCode::OK
    );
    s.call(
        Method::POST,
        &format!("/v1/runs/{id}/stop"),
        Body::empty(),
        None,
    )
    .await;
    let done = s.wait(&id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let tags: Vec<String> = read_csv(&s.path("pins.csv"))
        .into_iter()
        .map(|r| r[2].clone())
        .collect();
    assert_eq!(tags.len(), 8);
    // The second push came after the swap was accepted.
    assert!(tags[4..].iter().all(|t| t == "2.0.0"), "{tags:?}");
    assert!(tags[..4].iter().all(|t| t == "1.0.0" || t == "2.0.0"));
    // A pinned stage does not follow uploads.
    s.create_pipeline("pinned-only", pinned("1.0.0", "pinned-only.csv"))
        .await;
    let id = s.start("pinned-only").await;
    let up = s.upload(variant("4.0.0")).await;
    assert!(
        up["swaps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["run"] != id.as_str()),
        "{up}"
    );
    s.call(
        Method::POST,
        &format!("/v1/runs/{id}/cancel"),
        Body::empty(),
        None,
    )
    .await;
    s.wait(&id).await;
}
