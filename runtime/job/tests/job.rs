//! `quiver-job` against real components: plugin resolution in its documented order, and the
//! threading invariant (plugin code never runs on a tokio thread).

use std::path::Path;
use std::sync::{Arc, Mutex};

use quiver_host::{Metering, Runtime, RuntimeConfig};
use quiver_job::{Io, Job, Origin, Resolver};
use quiver_pipeline::{CallEvent, Progress, RunObserver};
use quiver_spec::{Context, PluginRef, Syntax, load_text};
use quiver_tests::plugins;

fn runtime(cache: &Path) -> Arc<Runtime> {
    Arc::new(
        Runtime::new(RuntimeConfig {
            cache_dir: Some(cache.to_owned()),
            ..RuntimeConfig::default()
        })
        .unwrap(),
    )
}

#[test]
fn a_name_resolves_to_the_first_party_plugin_without_a_plugin_path() {
    let dir = tempfile::tempdir().unwrap();
    let resolver = Resolver::new(runtime(dir.path()));
    let r = resolver
        .resolve(
            &PluginRef::name("dedupe", None),
            dir.path(),
            Metering::Epoch,
        )
        .unwrap();
    assert_eq!(r.origin, Origin::FirstParty);
    assert_eq!(r.plugin.name(), "dedupe");
    let pinned = resolver.resolve(
        &PluginRef::name("dedupe", Some(semver::Version::new(9, 9, 9))),
        dir.path(),
        Metering::Epoch,
    );
    let message = pinned.unwrap_err().to_string();
    assert!(
        message.contains("no version 9.9.9 of `dedupe`"),
        "{message}"
    );
    assert!(message.contains("available: 0.1.0"), "{message}");
    let unknown = resolver
        .resolve(&PluginRef::name("nope", None), dir.path(), Metering::Epoch)
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("no plugin named `nope`"), "{unknown}");
}

#[test]
fn the_plugin_path_comes_first_and_the_newest_version_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugins");
    std::fs::create_dir(&path).unwrap();
    // The same version as the first-party `map`: the plugin path wins the tie.
    std::fs::copy(plugins::MAP, path.join("map.wasm")).unwrap();
    // Two versions of a test plugin: the newer one is chosen, a pin picks the older.
    let (v1, p1) = plugins::TAGGER_VERSIONS[0];
    let (v2, p2) = plugins::TAGGER_VERSIONS[1];
    std::fs::copy(p1, path.join(format!("tagger@{v1}.wasm"))).unwrap();
    std::fs::copy(p2, path.join(format!("tagger-{v2}.wasm"))).unwrap();
    // A file whose stem does not name the plugin is not a candidate.
    std::fs::copy(plugins::FILTER, path.join("mapper.wasm")).unwrap();
    let resolver = Resolver::new(runtime(dir.path())).with_plugin_path(vec![path.clone()]);

    let map = resolver
        .resolve(&PluginRef::name("map", None), dir.path(), Metering::Epoch)
        .unwrap();
    assert_eq!(map.origin, Origin::File(path.join("map.wasm")));

    let newest = resolver
        .resolve(
            &PluginRef::name("tagger", None),
            dir.path(),
            Metering::Epoch,
        )
        .unwrap();
    assert_eq!(newest.plugin.version(), v2);
    let pinned = resolver
        .resolve(
            &PluginRef::name("tagger", Some(semver::Version::parse(v1).unwrap())),
            dir.path(),
            Metering::Epoch,
        )
        .unwrap();
    assert_eq!(pinned.plugin.version(), v1);

    let listed: Vec<(String, String)> = resolver
        .list()
        .unwrap()
        .into_iter()
        .map(|(a, _)| (a.name, a.origin.to_string()))
        .collect();
    let first_party = listed
        .iter()
        .position(|(_, o)| o.starts_with("first-party"))
        .unwrap();
    assert!(
        listed[..first_party]
            .iter()
            .all(|(_, o)| o.starts_with(path.to_str().unwrap())),
        "the plugin path is listed first: {listed:?}"
    );
    assert_eq!(listed.len(), first_party + quiver_firstparty::PLUGINS.len());
}

/// Records the thread of every plugin call.
#[derive(Default)]
struct Threads(Mutex<Vec<(Option<String>, bool)>>);

impl RunObserver for Threads {
    fn call(&self, _stage: usize, _e: &CallEvent<'_>) {
        let t = std::thread::current();
        let on_tokio = tokio::runtime::Handle::try_current().is_ok();
        self.0
            .lock()
            .unwrap()
            .push((t.name().map(str::to_owned), on_tokio));
    }
}

/// Invariant: guest code never runs on a tokio I/O thread, and no tokio thread waits for a
/// plugin: every plugin call of a run over quiver-io's async source and sink is made on the
/// engine's own threads.
#[test]
fn plugin_calls_never_run_on_a_tokio_thread() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,amount\n");
    for i in 0..5000 {
        csv.push_str(&format!("{i},{}.5\n", i % 7));
    }
    std::fs::write(dir.path().join("in.csv"), csv).unwrap();
    let read = load_text(
        r#"
[source]
path = "in.csv"
batch_rows = 500
[[stage]]
plugin = "map"
parallelism = 2
config = { columns = [{ column = "amount", scale = 2.0 }] }
[sink]
path = "out.parquet"
"#,
        Syntax::Toml,
        &[],
        Context::Cli,
    )
    .unwrap();
    let resolver = Resolver::new(runtime(dir.path()));
    let io = Io::new().unwrap();
    let job = Job::open("t", &read, &resolver, &io, dir.path(), None).unwrap();
    let threads = Arc::new(Threads::default());
    let progress = Progress::new(job.stage_names()).with_observer(threads.clone());
    let report = job.run(&progress).unwrap();
    assert_eq!(report.rows_written, 5000);
    let calls = threads.0.lock().unwrap();
    assert!(calls.len() >= 10, "{calls:?}");
    for (name, on_tokio) in calls.iter() {
        assert!(
            !on_tokio,
            "a plugin call ran inside a tokio runtime ({name:?})"
        );
        assert_ne!(name.as_deref(), Some("quiver-io"));
    }
}

#[test]
fn parallelism_over_the_ceiling_is_refused_before_any_instance_exists() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id\n1\n").unwrap();
    let toml = format!(
        "[source]\npath = \"in.csv\"\n\n[[stage]]\nplugin = {:?}\nparallelism = 40\n\n\
         [[stage]]\nplugin = {:?}\nname = \"second\"\nparallelism = 30\n\n[sink]\npath = \"out.csv\"\n",
        plugins::PASSTHROUGH,
        plugins::PASSTHROUGH
    );
    let read = load_text(&toml, Syntax::Toml, &[], Context::Cli).unwrap();
    let resolver =
        Resolver::new(runtime(dir.path())).with_instance_ceiling(quiver_job::InstanceCeiling {
            per_stage: 32,
            per_run: 64,
        });
    let io = Io::new().unwrap();
    let Err(problems) = quiver_job::check(&read, &resolver, &io, dir.path(), "p") else {
        panic!("a pipeline over the ceiling passed the check");
    };
    let fields: Vec<&str> = problems.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        ["stage.0.parallelism", "stage.1.parallelism"],
        "{problems}"
    );
    assert!(
        problems.problems[0].message.contains("32 per stage"),
        "{problems}"
    );
    assert!(
        problems.problems[1].message.contains("70 instances"),
        "{problems}"
    );
    assert_eq!(
        quiver_fault::HasFault::fault(&problems),
        quiver_fault::Fault::Config
    );
    // The ceiling never exceeds the runtime's pool.
    let huge =
        Resolver::new(runtime(dir.path())).with_instance_ceiling(quiver_job::InstanceCeiling {
            per_stage: usize::MAX,
            per_run: usize::MAX,
        });
    assert_eq!(
        huge.instance_ceiling().per_run,
        RuntimeConfig::default().max_instances as usize
    );
}
