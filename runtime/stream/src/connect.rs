//! Connecting to a NATS server with the credentials a spec names, and showing its URL
//! without them.

use std::time::Duration;

use async_nats::{Client, ConnectOptions};

use crate::error::StreamError;
use crate::spec::NatsAuth;

/// `url` as it may be shown: user, password and query stripped from every server.
pub fn shown(url: &str) -> String {
    url.split(',')
        .map(|one| match url::Url::parse(one.trim()) {
            Ok(mut u) => {
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.set_query(None);
                u.to_string().trim_end_matches('/').to_string()
            }
            Err(_) => "<unparsable NATS URL>".to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn read_secret(path: &std::path::Path, field: &str) -> Result<String, StreamError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| {
            StreamError::config(
                format!("auth.{field}"),
                format!("cannot read {}: {e}", path.display()),
            )
        })
}

/// Connect to `url` with `auth`; `name` is how the server lists the connection.
///
/// # Errors
/// [`StreamError::Config`] for unreadable credential files, more than one way to
/// authenticate, or credentials the server refuses; [`StreamError::Unavailable`] when the
/// server cannot be reached.
pub async fn connect(url: &str, auth: &NatsAuth, name: &str) -> Result<Client, StreamError> {
    let ways = [
        auth.credentials_file.is_some(),
        auth.token_file.is_some() || auth.token.is_some(),
        auth.user.is_some(),
    ]
    .iter()
    .filter(|w| **w)
    .count();
    if ways > 1 {
        return Err(StreamError::config(
            "auth",
            "give one way to authenticate: credentials_file, a token, or a user and password",
        ));
    }
    let mut options = ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        // Publishes wait for their acks in bulk at a checkpoint; allow many in flight.
        .client_capacity(65_536);
    if let Some(path) = &auth.credentials_file {
        options = ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|e| {
                StreamError::config(
                    "auth.credentials_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?
            .name(name)
            .connection_timeout(Duration::from_secs(5))
            .client_capacity(65_536);
    }
    if let Some(path) = &auth.token_file {
        options = options.token(read_secret(path, "token_file")?);
    } else if let Some(token) = &auth.token {
        options = options.token(token.clone());
    }
    if let Some(user) = &auth.user {
        let password = match (&auth.password, &auth.password_file) {
            (Some(p), None) => p.clone(),
            (None, Some(path)) => read_secret(path, "password_file")?,
            _ => {
                return Err(StreamError::config(
                    "auth.password",
                    "a user needs exactly one of password or password_file",
                ));
            }
        };
        options = options.user_and_password(user.clone(), password);
    }
    options.connect(url).await.map_err(|e| match e.kind() {
        // Wrong or missing credentials will not get better by retrying: a config error
        // (exit 78) naming `auth`, not an outage.
        async_nats::ConnectErrorKind::AuthorizationViolation
        | async_nats::ConnectErrorKind::Authentication => StreamError::config(
            "auth",
            format!("{} refused the credentials: {e}", shown(url)),
        ),
        _ => StreamError::unavailable("connecting", &shown(url), e),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_never_show() {
        assert_eq!(
            super::shown("nats://me:secret@127.0.0.1:4222?x=1"),
            "nats://127.0.0.1:4222"
        );
        assert_eq!(
            super::shown("nats://a:1, nats://tok@b:2"),
            "nats://a:1,nats://b:2"
        );
    }
}
