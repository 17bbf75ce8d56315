//! Data roots: the folders and object-store prefixes that pipelines created over the API may
//! read from, write to, or grant to plugins. The operator declares them (`--root
//! NAME[:ACCESS]=LOCATION`); a token holder names them in paths as `root:NAME/sub/file.csv`.
//!
//! When any root is declared, every path of a pipeline document — `source.path`,
//! `sink.path`, `dead_letter.path`, `stage.N.grants.dirs.M.host` — must lie inside a root
//! whose access allows the use, and host environment variables may be granted
//! (`stage.N.grants.env.M`) only when the operator lists them (`--grantable-env`). What is
//! refused, each a problem with its field (422):
//!
//! - a path outside every root with that access (after the local path is made canonical:
//!   a symbolic link is judged by where it leads);
//! - `..` anywhere in a path, whatever it would resolve to;
//! - a directory or glob source below which a symbolic link leads out of the root (the
//!   listing follows links);
//! - an unknown `root:` name;
//! - a JetStream or Kafka source or sink (`source.nats`, `sink.kafka`, …): a network
//!   address no root describes (without roots they are allowed, like any path).
//!
//! Local paths are rewritten to their canonical form before `quiver-job` opens anything, so
//! what was checked is what is opened (a link swapped between the check and the open is the
//! one race left: see `docs/security.md`). The stored document keeps the `root:` names, so a
//! root moved by the operator moves its pipelines with it. With no root declared, paths are
//! taken as they are (the behaviour of `quiver run`): a token holder may then touch whatever
//! the server's user may. The CLI never goes through here.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use quiver_io::{Location, Storage};
use quiver_spec::{Problem, Read, Sink, Source};

/// What a root may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    /// Sources may read below it.
    pub read: bool,
    /// Sinks and dead-letter sinks may write below it.
    pub write: bool,
    /// Stages may be granted its directories (read-only, local roots only).
    pub grant: bool,
}

impl Access {
    /// Every use.
    pub const ALL: Access = Access {
        read: true,
        write: true,
        grant: true,
    };

    fn shown(self) -> String {
        let mut v = Vec::new();
        if self.read {
            v.push("read");
        }
        if self.write {
            v.push("write");
        }
        if self.grant {
            v.push("grant");
        }
        v.join("+")
    }
}

/// One use of a path, and the access it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Read,
    Write,
    Grant,
}

impl Use {
    fn allowed(self, a: Access) -> bool {
        match self {
            Use::Read => a.read,
            Use::Write => a.write,
            Use::Grant => a.grant,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Use::Read => "read from",
            Use::Write => "write to",
            Use::Grant => "grant to plugins",
        }
    }

    fn access(self) -> &'static str {
        match self {
            Use::Read => "read",
            Use::Write => "write",
            Use::Grant => "grant",
        }
    }
}

/// A root as the operator declares it: `NAME[:ACCESS]=LOCATION`, ACCESS a `+`-joined subset
/// of `read`, `write`, `grant` (all three when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSpec {
    /// The name pipelines use (`root:NAME/...`).
    pub name: String,
    /// What it may be used for.
    pub access: Access,
    /// A local folder (absolute, or relative to the server's current folder) or an object
    /// store URL prefix (`s3://bucket/prefix`).
    pub location: String,
}

impl std::str::FromStr for RootSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let Some((head, location)) = text.split_once('=') else {
            return Err(format!(
                "`{text}` is not NAME[:ACCESS]=LOCATION (e.g. `raw:read=/srv/data/raw`)"
            ));
        };
        let (name, access) = match head.split_once(':') {
            None => (head, Access::ALL),
            Some((name, list)) => {
                let mut access = Access::default();
                for part in list.split('+') {
                    match part {
                        "read" => access.read = true,
                        "write" => access.write = true,
                        "grant" => access.grant = true,
                        other => {
                            return Err(format!(
                                "root `{name}`: unknown access `{other}`; use read, write \
                                 and/or grant joined by `+` (e.g. `{name}:read+grant=...`)"
                            ));
                        }
                    }
                }
                (name, access)
            }
        };
        if !quiver_spec::valid_name(name) {
            return Err(format!("root name `{name}`: use 1-64 of a-z, 0-9, - and _"));
        }
        if location.is_empty() {
            return Err(format!("root `{name}`: the location is empty"));
        }
        Ok(RootSpec {
            name: name.to_owned(),
            access,
            location: location.to_owned(),
        })
    }
}

/// Where a root is, resolved once at start-up.
#[derive(Debug, Clone)]
enum Place {
    /// A local folder, canonical.
    Local(PathBuf),
    /// An object store prefix as quiver-io displays it, without a trailing `/`
    /// (`s3://bucket/prefix`).
    Object(String),
}

#[derive(Debug, Clone)]
struct Root {
    spec: RootSpec,
    place: Place,
}

/// A root that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("data root `{name}`: {message}")]
pub struct RootError {
    /// The root.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

/// The declared roots and the environment variables that may be granted.
#[derive(Debug, Clone, Default)]
pub struct Roots {
    roots: Vec<Root>,
    grantable_env: BTreeSet<String>,
    storage: Storage,
}

/// The prefix of pipeline paths that name a root.
pub const ROOT_PREFIX: &str = "root:";

impl Roots {
    /// Resolve the declared roots: local folders must exist (they are made canonical),
    /// object-store URLs must parse. `protected` are places no root with write access may
    /// contain or lie inside (the data directory, the compiled-plugin cache: a pipeline
    /// writing there could forge plugins or compiled code).
    ///
    /// # Errors
    /// A root that does not exist, does not parse, is declared twice, grants an object
    /// store, or could write over a protected place.
    pub fn open(
        specs: Vec<RootSpec>,
        grantable_env: Vec<String>,
        storage: &Storage,
        protected: &[(String, &str)],
    ) -> Result<Roots, RootError> {
        let mut roots: Vec<Root> = Vec::new();
        for spec in specs {
            let err = |message: String| RootError {
                name: spec.name.clone(),
                message,
            };
            if roots.iter().any(|r| r.spec.name == spec.name) {
                return Err(err("declared twice".into()));
            }
            let location = Location::parse_with(&spec.location, Path::new("/"), storage)
                .map_err(|e| err(format!("{}: {e}", spec.location)))?;
            let place = match location {
                Location::Stdio => return Err(err("`-` is not a place".into())),
                Location::Local(path) => {
                    let canonical = std::fs::canonicalize(&path).map_err(|e| {
                        err(format!(
                            "{} cannot be used: {e}; create the folder first",
                            path.display()
                        ))
                    })?;
                    if !canonical.is_dir() {
                        return Err(err(format!("{} is not a folder", path.display())));
                    }
                    Place::Local(canonical)
                }
                Location::Object(_) => {
                    if spec.access.grant {
                        return Err(err(
                            "plugins can only be granted local folders; drop `grant` from \
                             this object-store root"
                                .into(),
                        ));
                    }
                    Place::Object(location.to_string().trim_end_matches('/').to_owned())
                }
            };
            let root = Root { spec, place };
            if root.spec.access.write {
                for (place, what) in protected {
                    if root.overlaps(place, storage) {
                        return Err(RootError {
                            name: root.spec.name.clone(),
                            message: format!(
                                "it overlaps {what} ({place}); pipelines writing there could \
                                 replace plugins or compiled code. Give the root another \
                                 place, or drop `write`"
                            ),
                        });
                    }
                }
            }
            roots.push(root);
        }
        Ok(Roots {
            roots,
            grantable_env: grantable_env.into_iter().collect(),
            storage: storage.clone(),
        })
    }

    /// Whether any root is declared (paths are confined then).
    pub fn confining(&self) -> bool {
        !self.roots.is_empty()
    }

    /// The roots, as `name (access)` for messages.
    fn listed(&self, want: Use) -> String {
        let names: Vec<String> = self
            .roots
            .iter()
            .filter(|r| want.allowed(r.spec.access))
            .map(|r| format!("`root:{}` ({})", r.spec.name, r.spec.access.shown()))
            .collect();
        if names.is_empty() {
            format!("no root allows {}", want.access())
        } else {
            names.join(", ")
        }
    }

    /// Confine `read`'s paths to the roots, rewriting `root:` names and local paths to the
    /// places they stand for. Relative paths start at `base`.
    ///
    /// # Errors
    /// Every path outside the roots, each a problem with its field.
    pub fn confine(&self, read: &mut Read, base: &Path) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        let pipeline = &mut read.pipeline;
        // A JetStream source or sink reaches a network address no root describes: with
        // roots declared, a token holder may not point the server at one.
        const STREAMS: &str = "JetStream and Kafka sources and sinks are not available to pipelines \
                               created over the API while the server confines them to data \
                               roots; run stream pipelines with `quiver run`";
        match &mut pipeline.source {
            Source::Io(spec) => {
                self.rewrite(
                    &mut spec.path,
                    Use::Read,
                    "source.path",
                    base,
                    &mut problems,
                );
            }
            Source::Nats(_) if self.confining() => {
                problems.push(Problem::new("source.nats", STREAMS));
            }
            Source::Kafka(_) if self.confining() => {
                problems.push(Problem::new("source.kafka", STREAMS));
            }
            Source::Nats(_) | Source::Kafka(_) | Source::Api(_) => {}
        }
        match &mut pipeline.sink {
            Sink::Io(spec) => {
                self.rewrite(&mut spec.path, Use::Write, "sink.path", base, &mut problems);
            }
            Sink::Nats(_) if self.confining() => {
                problems.push(Problem::new("sink.nats", STREAMS));
            }
            Sink::Kafka(_) if self.confining() => {
                problems.push(Problem::new("sink.kafka", STREAMS));
            }
            Sink::Nats(_) | Sink::Kafka(_) => {}
        }
        if let Some(d) = &mut pipeline.dead_letter {
            self.rewrite(
                &mut d.path,
                Use::Write,
                "dead_letter.path",
                base,
                &mut problems,
            );
        }
        for (i, stage) in pipeline.stages.iter_mut().enumerate() {
            for (j, dir) in stage.grants.dirs.iter_mut().enumerate() {
                let field = format!("stage.{i}.grants.dirs.{j}.host");
                let mut text = dir.host.to_string_lossy().into_owned();
                if self.rewrite(&mut text, Use::Grant, &field, base, &mut problems) {
                    dir.host = PathBuf::from(text);
                }
            }
            if self.confining() {
                for (j, name) in stage.grants.env.iter().enumerate() {
                    if !self.grantable_env.contains(name) {
                        problems.push(Problem::new(
                            format!("stage.{i}.grants.env.{j}"),
                            format!(
                                "`{name}` may not be granted over the API: the operator lists \
                                 the host environment variables pipelines may grant \
                                 (--grantable-env); {}",
                                if self.grantable_env.is_empty() {
                                    "none is listed".to_owned()
                                } else {
                                    format!(
                                        "listed: {}",
                                        self.grantable_env
                                            .iter()
                                            .cloned()
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    )
                                }
                            ),
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Check and rewrite one path in place; `false` (with a problem) when it is refused.
    fn rewrite(
        &self,
        path: &mut String,
        want: Use,
        field: &str,
        base: &Path,
        problems: &mut Vec<Problem>,
    ) -> bool {
        match self.resolve(path, want, base) {
            Ok(p) => {
                *path = p;
                true
            }
            Err(message) => {
                problems.push(Problem::new(field, message));
                false
            }
        }
    }

    /// The place `text` stands for, checked against the roots for `want`.
    fn resolve(&self, text: &str, want: Use, base: &Path) -> Result<String, String> {
        let expanded = match text.strip_prefix(ROOT_PREFIX) {
            Some(rest) => {
                let (name, sub) = rest.split_once('/').unwrap_or((rest, ""));
                let Some(root) = self.roots.iter().find(|r| r.spec.name == name) else {
                    return Err(if self.roots.is_empty() {
                        format!("`{text}` names a data root, but this server declares none")
                    } else {
                        format!(
                            "there is no data root `{name}`; this server's roots: {}",
                            self.listed(want)
                        )
                    });
                };
                let at = match &root.place {
                    Place::Local(p) => p.display().to_string(),
                    Place::Object(prefix) => prefix.clone(),
                };
                if sub.is_empty() {
                    at
                } else {
                    format!("{}/{sub}", at.trim_end_matches('/'))
                }
            }
            None if !self.confining() => return Ok(text.to_owned()),
            None => text.to_owned(),
        };
        if text == "-" {
            return Ok(text.to_owned());
        }
        if expanded
            .split(['/', '\\', '{', '}', ','])
            .any(|segment| segment == "..")
        {
            return Err(format!(
                "`{text}`: `..` is not allowed in paths over the API; name the place inside \
                 a data root directly"
            ));
        }
        let location = Location::parse_with(&expanded, base, &self.storage)
            .map_err(|e| format!("`{text}`: {e}"))?;
        let outside = || {
            format!(
                "`{text}` is outside every data root this server may {}; use a path inside \
                 one of {}",
                want.verb(),
                self.listed(want)
            )
        };
        match location {
            Location::Stdio => Ok(expanded),
            Location::Object(_) => {
                if want == Use::Grant {
                    return Err(format!(
                        "`{text}`: plugins can only be granted local folders"
                    ));
                }
                let shown = location.to_string();
                let inside = self.roots.iter().any(|r| {
                    want.allowed(r.spec.access)
                        && matches!(&r.place, Place::Object(prefix)
                            if shown == *prefix || shown.starts_with(&format!("{prefix}/")))
                });
                if inside { Ok(expanded) } else { Err(outside()) }
            }
            Location::Local(path) => {
                let lossy = path.to_string_lossy().into_owned();
                let glob = lossy.find(['*', '?', '[', '{']);
                // The part that names a real place: the folder a glob lists, or the path.
                let (literal, pattern) = match glob {
                    Some(first) => {
                        let slash = lossy[..first].rfind('/').unwrap_or(0);
                        (
                            PathBuf::from(&lossy[..slash.max(1)]),
                            Some(lossy[slash + 1..].to_owned()),
                        )
                    }
                    None => (path.clone(), None),
                };
                let canonical = canonical_existing(&literal)
                    .map_err(|e| format!("`{text}` cannot be checked: {e}"))?;
                let Some(root) = self.roots.iter().find(|r| {
                    want.allowed(r.spec.access)
                        && matches!(&r.place, Place::Local(p) if canonical.starts_with(p))
                }) else {
                    return Err(outside());
                };
                let Place::Local(root_path) = &root.place else {
                    return Err(outside());
                };
                if want == Use::Grant && !canonical.is_dir() {
                    return Err(format!("`{text}` is not a folder"));
                }
                let listed = pattern.is_some() || canonical.is_dir();
                if want == Use::Read && listed {
                    escaping_link(&canonical, root_path).map_or(Ok(()), |link| {
                        Err(format!(
                            "`{text}`: below it, `{}` is a symbolic link that leads out of \
                             data root `{}`; sources that list folders follow links",
                            link.strip_prefix(&canonical).unwrap_or(&link).display(),
                            root.spec.name
                        ))
                    })?;
                }
                let mut out = canonical.display().to_string();
                if let Some(p) = pattern {
                    out = format!("{}/{p}", out.trim_end_matches('/'));
                } else if text.ends_with('/') && !out.ends_with('/') {
                    out.push('/');
                }
                Ok(out)
            }
        }
    }
}

impl Root {
    /// Whether this root and `place` (a data directory or cache) contain one another.
    fn overlaps(&self, place: &str, storage: &Storage) -> bool {
        let Ok(location) = Location::parse_with(place, Path::new("/"), storage) else {
            return false;
        };
        match (&self.place, location) {
            (Place::Local(root), Location::Local(p)) => {
                let p = canonical_existing(&p).unwrap_or(p);
                p.starts_with(root) || root.starts_with(&p)
            }
            (Place::Object(prefix), l @ Location::Object(_)) => {
                let shown = l.to_string().trim_end_matches('/').to_owned();
                let within = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
                within(&shown, prefix) || within(prefix, &shown)
            }
            _ => false,
        }
    }
}

/// `path` made canonical as far as it exists: the nearest existing ancestor resolved
/// (symbolic links followed), the rest appended as written (it cannot hold `..`: refused
/// before).
fn canonical_existing(path: &Path) -> std::io::Result<PathBuf> {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        match std::fs::canonicalize(&existing) {
            Ok(c) => {
                let mut out = c;
                for part in rest.iter().rev() {
                    out.push(part);
                }
                return Ok(out);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A dangling link at the end is judged by where it leads: refuse to guess.
                if std::fs::symlink_metadata(&existing).is_ok() {
                    return Err(e);
                }
                let Some(name) = existing.file_name().map(ToOwned::to_owned) else {
                    return Err(e);
                };
                rest.push(name);
                if !existing.pop() || existing.components().next_back() == Some(Component::RootDir)
                {
                    existing = PathBuf::from("/");
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// The first symbolic link below `dir` that leads outside `root` (dangling links lead
/// nowhere and are skipped; unreadable folders are skipped, as the listing would fail there).
fn escaping_link(dir: &Path, root: &Path) -> Option<PathBuf> {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path_is_symlink())
        .find(|e| std::fs::canonicalize(e.path()).is_ok_and(|t| !t.starts_with(root)))
        .map(|e| e.path().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_specs_read_name_access_and_location() {
        let r: RootSpec = "raw:read+grant=/srv/raw".parse().unwrap();
        assert_eq!(r.name, "raw");
        assert!(r.access.read && r.access.grant && !r.access.write);
        assert_eq!(r.location, "/srv/raw");
        let r: RootSpec = "out=s3://bucket/a=b".parse().unwrap();
        assert_eq!(
            (r.access, r.location.as_str()),
            (Access::ALL, "s3://bucket/a=b")
        );
        assert!(
            "raw:rwx=/x"
                .parse::<RootSpec>()
                .unwrap_err()
                .contains("unknown access")
        );
        assert!("/srv/raw".parse::<RootSpec>().is_err());
    }

    #[test]
    fn canonical_existing_keeps_the_missing_tail() {
        let dir = tempfile::tempdir().unwrap();
        let c = canonical_existing(&dir.path().join("a/b.csv")).unwrap();
        assert_eq!(
            c,
            std::fs::canonicalize(dir.path()).unwrap().join("a/b.csv")
        );
    }
}
