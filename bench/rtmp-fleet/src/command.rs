//! The stdin protocol: `add ID RTMP_URL` starts a stream, `stop ID` ends it. An ID is any word
//! without whitespace (it is echoed in every report line). The URL is `rtmp://HOST[:PORT]/APP/KEY`:
//! the application is the first path segment, the stream key everything after it.
//!
//! Stream keys are secrets on a real server: [`StreamKey`] prints as `<redacted>` and no parse
//! error quotes the URL.

use std::fmt;

const DEFAULT_PORT: u16 = 1935;

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Add { id: String, target: Target },
    Stop { id: String },
}

/// Where one stream publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port`, for `TcpStream::connect`.
    pub addr: String,
    pub app: String,
    pub key: StreamKey,
    /// `rtmp://host:port/app`, sent in `connect` as servers expect from OBS and ffmpeg.
    pub tc_url: String,
}

#[derive(Clone, PartialEq, Eq)]
pub struct StreamKey(String);

impl StreamKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandError {
    #[error("unknown command {0:?} (expected add or stop)")]
    Unknown(String),
    #[error("usage: add ID RTMP_URL | stop ID")]
    Usage,
    #[error("the URL must look like rtmp://HOST[:PORT]/APP/KEY")]
    BadUrl,
}

/// Parses one line. `Ok(None)` for a blank line.
pub fn parse(line: &str) -> Result<Option<Command>, CommandError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [] => Ok(None),
        ["add", id, url] => Ok(Some(Command::Add {
            id: (*id).to_string(),
            target: parse_url(url)?,
        })),
        ["stop", id] => Ok(Some(Command::Stop {
            id: (*id).to_string(),
        })),
        ["add" | "stop", ..] => Err(CommandError::Usage),
        [verb, ..] => Err(CommandError::Unknown(verb.chars().take(32).collect())),
    }
}

fn parse_url(url: &str) -> Result<Target, CommandError> {
    let rest = url.strip_prefix("rtmp://").ok_or(CommandError::BadUrl)?;
    let (authority, path) = rest.split_once('/').ok_or(CommandError::BadUrl)?;
    let (app, key) = path.split_once('/').ok_or(CommandError::BadUrl)?;
    if app.is_empty() || key.is_empty() {
        return Err(CommandError::BadUrl);
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().map_err(|_| CommandError::BadUrl)?),
        None => (authority, DEFAULT_PORT),
    };
    if host.is_empty() {
        return Err(CommandError::BadUrl);
    }
    Ok(Target {
        addr: format!("{host}:{port}"),
        app: app.to_string(),
        key: StreamKey(key.to_string()),
        tc_url: format!("rtmp://{host}:{port}/{app}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(line: &str) -> Target {
        match parse(line) {
            Ok(Some(Command::Add { target, .. })) => target,
            other => panic!("expected add, got {other:?}"),
        }
    }

    #[test]
    fn add_splits_app_and_key() {
        let target = add("add s1 rtmp://127.0.0.1:41935/live/abc123");
        assert_eq!(target.addr, "127.0.0.1:41935");
        assert_eq!(target.app, "live");
        assert_eq!(target.key.expose(), "abc123");
        assert_eq!(target.tc_url, "rtmp://127.0.0.1:41935/live");
    }

    #[test]
    fn key_is_everything_after_the_app_and_port_defaults_to_1935() {
        let target = add("add x rtmp://localhost/app/a/b?token=1");
        assert_eq!(target.addr, "localhost:1935");
        assert_eq!(target.key.expose(), "a/b?token=1");
    }

    #[test]
    fn stop_and_blank_lines() {
        assert_eq!(
            parse("stop s1\n"),
            Ok(Some(Command::Stop { id: "s1".into() }))
        );
        assert_eq!(parse("   \n"), Ok(None));
    }

    #[test]
    fn bad_lines_are_errors() {
        assert_eq!(parse("play s1"), Err(CommandError::Unknown("play".into())));
        assert_eq!(parse("add s1"), Err(CommandError::Usage));
        assert_eq!(parse("stop"), Err(CommandError::Usage));
        assert_eq!(parse("stop a b"), Err(CommandError::Usage));
        for url in [
            "http://h/live/k",
            "rtmp://h/live",
            "rtmp://h/live/",
            "rtmp://h//k",
            "rtmp://h:port/live/k",
            "rtmp://:1935/live/k",
        ] {
            assert_eq!(
                parse(&format!("add s1 {url}")),
                Err(CommandError::BadUrl),
                "{url}"
            );
        }
    }

    #[test]
    fn the_key_never_shows_in_debug_output_or_errors() {
        let printed = format!("{:?}", add("add s1 rtmp://h/live/supersecret"));
        assert!(!printed.contains("supersecret"), "{printed}");
        let error = parse("add s1 rtmp://h:x/live/supersecret").expect_err("bad port");
        assert!(!error.to_string().contains("supersecret"));
    }
}
