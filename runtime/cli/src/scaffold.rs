//! `quiver plugin new` and `quiver plugin build`: start a plugin in any SDK language from
//! its template, and turn a plugin folder into a checked component with one command.
//!
//! The templates and the per-language build scripts live in the SDK folder of the Quiver
//! checkout (`sdk/<lang>/template/`, `sdk/<lang>/build.sh SRC OUT`), found at
//! `$QUIVER_SDK_DIR` or, by default, where this binary was built from. Every template file
//! has `{{name}}` replaced by the plugin's name and `{{sdk}}` by the SDK folder's absolute
//! path. `build` picks the language from the folder's files, runs that build script (which
//! installs its toolchain on first use), then loads the result exactly as `quiver run`
//! would, so a component that builds but does not load is reported at build time.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use quiver_host::Runtime;

use quiver_fault::{Failure, Fault};

/// The languages with an SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust (`Cargo.toml`), with the `quiver-sdk` crate.
    Rust,
    /// Python (`app.py`), built with componentize-py.
    Python,
    /// JavaScript (`plugin.js`), built with jco (StarlingMonkey).
    Js,
    /// C (`*.c`), built with clang and wasi-libc.
    C,
}

impl Lang {
    fn dir(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::C => "c",
        }
    }

    /// The language of the plugin in `dir`, from the files it holds.
    fn detect(dir: &Path) -> Option<Lang> {
        if dir.join("Cargo.toml").is_file() {
            return Some(Lang::Rust);
        }
        if dir.join("app.py").is_file() {
            return Some(Lang::Python);
        }
        if dir.join("plugin.js").is_file() {
            return Some(Lang::Js);
        }
        let has_c = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .any(|e| e.path().extension().is_some_and(|x| x == "c"));
        has_c.then_some(Lang::C)
    }
}

/// Arguments of `quiver plugin new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The plugin's name: lowercase letters, digits, `-` and `_`, starting with a letter.
    name: String,
    /// The language.
    #[arg(long, value_enum, env = "QUIVER_LANG")]
    lang: Lang,
    /// Where to create the plugin folder (`<dir>/<name>`).
    #[arg(long, default_value = ".", env = "QUIVER_NEW_DIR")]
    dir: PathBuf,
    /// The SDK folder of a Quiver checkout (templates and build scripts).
    #[arg(long, env = "QUIVER_SDK_DIR", default_value_os_t = default_sdk_dir())]
    sdk_dir: PathBuf,
}

/// Arguments of `quiver plugin build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The plugin folder.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The component to write (default: `<dir>/<folder name>.wasm`).
    #[arg(long, short, env = "QUIVER_BUILD_OUT")]
    out: Option<PathBuf>,
    /// The language, when the folder's files do not tell.
    #[arg(long, value_enum, env = "QUIVER_LANG")]
    lang: Option<Lang>,
    /// The SDK folder of a Quiver checkout (templates and build scripts).
    #[arg(long, env = "QUIVER_SDK_DIR", default_value_os_t = default_sdk_dir())]
    sdk_dir: PathBuf,
}

/// `sdk/` of the checkout this binary was built from.
fn default_sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk")
}

fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(Failure::config(format!(
            "invalid plugin name {name:?}: use lowercase letters, digits, '-' and '_', starting \
             with a letter (at most 64 characters)"
        ))
        .into())
    }
}

fn sdk_lang_dir(sdk: &Path, lang: Lang) -> Result<PathBuf> {
    let dir = sdk.join(lang.dir());
    if dir.join("template").is_dir() && dir.join("build.sh").is_file() {
        std::path::absolute(&dir).context("resolving the SDK folder")
    } else {
        Err(Failure::config(format!(
            "no {} SDK at {} (expected template/ and build.sh); point --sdk-dir or \
             QUIVER_SDK_DIR at the sdk/ folder of a Quiver checkout",
            lang.dir(),
            dir.display()
        ))
        .into())
    }
}

/// Copy `from` into `to`, substituting the placeholders in every file.
fn copy_template(from: &Path, to: &Path, name: &str, sdk: &str) -> Result<usize> {
    let mut files = 0;
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            files += copy_template(&entry.path(), &target, name, sdk)?;
            continue;
        }
        let text = std::fs::read_to_string(entry.path())
            .with_context(|| format!("reading template file {}", entry.path().display()))?;
        let text = text.replace("{{name}}", name).replace("{{sdk}}", sdk);
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
        files += 1;
    }
    Ok(files)
}

/// Create `<dir>/<name>` from the language's template.
pub fn new(args: &NewArgs) -> Result<()> {
    check_name(&args.name)?;
    let sdk = sdk_lang_dir(&args.sdk_dir, args.lang)?;
    let target = args.dir.join(&args.name);
    if target.exists() {
        return Err(Failure::config(format!(
            "{} already exists; choose another name or --dir",
            target.display()
        ))
        .into());
    }
    let sdk_root = sdk.parent().unwrap_or(&sdk).display().to_string();
    let files =
        copy_template(&sdk.join("template"), &target, &args.name, &sdk_root).inspect_err(|_| {
            // Never leave a half-made plugin folder behind.
            let _ = std::fs::remove_dir_all(&target);
        })?;
    println!(
        "created {} ({files} files, {}); build it with:\n  quiver plugin build {}",
        target.display(),
        args.lang.dir(),
        target.display()
    );
    Ok(())
}

/// Build the plugin in `args.dir` and check that the component loads.
pub fn build(args: &BuildArgs) -> Result<()> {
    let dir = std::path::absolute(&args.dir)
        .with_context(|| format!("resolving {}", args.dir.display()))?;
    if !dir.is_dir() {
        return Err(Failure::config(format!("{} is not a plugin folder", dir.display())).into());
    }
    let lang = match args.lang.or_else(|| Lang::detect(&dir)) {
        Some(l) => l,
        None => {
            return Err(Failure::config(format!(
                "cannot tell the language of {}: expected Cargo.toml (rust), app.py (python), \
                 plugin.js (js) or *.c files (c); or pass --lang",
                dir.display()
            ))
            .into());
        }
    };
    let sdk = sdk_lang_dir(&args.sdk_dir, lang)?;
    let out = match &args.out {
        Some(o) => std::path::absolute(o).context("resolving --out")?,
        None => {
            let stem = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "plugin".into());
            dir.join(format!("{stem}.wasm"))
        }
    };
    let script = sdk.join("build.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .arg(&out)
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        return Err(Failure::new(
            Fault::Plugin,
            format!(
                "building {} failed ({status}); the build's own messages are above",
                dir.display()
            ),
        )
        .into());
    }
    // Load it as `quiver run` would: a component, the right WIT, metadata readable.
    let runtime = Runtime::new(crate::args::default_runtime_config())?;
    let plugin = runtime.load_file(&out)?;
    println!(
        "built {} — {} {} ({} plugin, sha256 {})",
        out.display(),
        plugin.name(),
        plugin.version(),
        lang.dir(),
        plugin.id().sha256
    );
    Ok(())
}
