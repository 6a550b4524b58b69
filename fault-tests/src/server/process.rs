//! Spawning a server process and waiting until it is ready.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ServerError;
use crate::resp::{Connection, Reply};

/// Pause between two readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Timeout of one readiness probe's connect and reply.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Line that valkey-server and redis-server log once they listen on every
/// configured port.
const READY_LOG_LINE: &str = "Ready to accept connections";

/// Number of log lines that error messages show.
pub(crate) const LOG_TAIL_LINES: usize = 20;

/// How the harness decides that a server is ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// The plain-text port replies to `PING`. An error reply such as
    /// `NOAUTH` counts, because the server is serving, but `LOADING` does not.
    Ping,
    /// The port accepts a TCP connection. TLS servers use this, because the
    /// probe does not speak TLS.
    TcpAccept,
}

impl Readiness {
    fn expected(self) -> &'static str {
        match self {
            Self::Ping => "reply to PING",
            Self::TcpAccept => "accept TCP connections",
        }
    }

    fn probe(self, addr: SocketAddr) -> bool {
        match self {
            Self::Ping => Connection::connect(addr, PROBE_TIMEOUT)
                .and_then(|mut connection| connection.command(&["PING"]))
                .is_ok_and(|reply| match reply {
                    Reply::Error(message) => !message.starts_with("LOADING"),
                    other => other == Reply::Simple("PONG".to_owned()),
                }),
            Self::TcpAccept => TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).is_ok(),
        }
    }
}

/// Everything needed to start one server process.
#[derive(Debug)]
pub(crate) struct Launch<'a> {
    pub(crate) program: &'static str,
    pub(crate) binary: &'a Path,
    pub(crate) args: &'a [OsString],
    pub(crate) log: &'a Path,
    pub(crate) addr: SocketAddr,
    pub(crate) readiness: Readiness,
    pub(crate) timeout: Duration,
}

/// A launch failure, split by cause so that the caller can retry on another
/// port.
#[derive(Debug)]
pub(crate) enum LaunchError {
    /// The port was taken between choosing it and the server's bind.
    PortInUse(ServerError),
    /// Any other failure.
    Other(ServerError),
}

impl From<LaunchError> for ServerError {
    fn from(error: LaunchError) -> Self {
        match error {
            LaunchError::PortInUse(error) | LaunchError::Other(error) => error,
        }
    }
}

impl Launch<'_> {
    /// Spawns the server with its output appended to the log file, then
    /// waits until it is ready. A server that is not ready in time is killed.
    pub(crate) fn run(&self) -> Result<Child, LaunchError> {
        let log_start = std::fs::metadata(self.log).map_or(0, |meta| meta.len());
        let mut child = self.spawn().map_err(LaunchError::Other)?;
        let started = Instant::now();
        loop {
            if let Some(error) = self.check_exited(&mut child, log_start) {
                return Err(error);
            }
            // The log line proves that this process bound the port, so a
            // probe that succeeds is not answered by another test's server
            // that took the port first.
            if log_since(self.log, log_start).contains(READY_LOG_LINE)
                && self.readiness.probe(self.addr)
            {
                return match self.check_exited(&mut child, log_start) {
                    Some(error) => Err(error),
                    None => Ok(child),
                };
            }
            if started.elapsed() >= self.timeout {
                stop(&mut child);
                return Err(LaunchError::Other(self.not_ready(started.elapsed())));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn spawn(&self) -> Result<Child, ServerError> {
        let open_log = || {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log)
                .map_err(|source| ServerError::io(format!("open {}", self.log.display()), source))
        };
        Command::new(self.binary)
            .args(self.args)
            .stdin(Stdio::null())
            .stdout(open_log()?)
            .stderr(open_log()?)
            .spawn()
            .map_err(|source| ServerError::io(format!("spawn {}", self.binary.display()), source))
    }

    fn check_exited(&self, child: &mut Child, log_start: u64) -> Option<LaunchError> {
        let status = match child.try_wait() {
            Ok(None) => return None,
            Ok(Some(status)) => status,
            Err(source) => {
                return Some(LaunchError::Other(ServerError::io(
                    format!("wait for {}", self.program),
                    source,
                )));
            }
        };
        let error = ServerError::Exited {
            program: self.program,
            port: self.addr.port(),
            status,
            log: self.log.to_path_buf(),
            log_tail: log_tail(self.log, LOG_TAIL_LINES),
        };
        if log_since(self.log, log_start).contains("Address already in use") {
            Some(LaunchError::PortInUse(error))
        } else {
            Some(LaunchError::Other(error))
        }
    }

    fn not_ready(&self, waited: Duration) -> ServerError {
        ServerError::NotReady {
            program: self.program,
            port: self.addr.port(),
            expected: self.readiness.expected(),
            waited,
            log: self.log.to_path_buf(),
            log_tail: log_tail(self.log, LOG_TAIL_LINES),
        }
    }
}

/// Sends SIGKILL to the child and reaps it. Errors are ignored because they
/// mean that the child has already exited and been reaped.
pub(crate) fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Returns a port of 127.0.0.1 that was free a moment ago. Another process
/// may take it before the server binds it, which [`LaunchError::PortInUse`]
/// reports.
pub(crate) fn free_port() -> Result<u16, ServerError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| ServerError::io("bind 127.0.0.1:0 to find a free port", source))
}

/// Returns the last `lines` lines of a log file, or a note when it cannot be
/// read.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

fn log_since(path: &Path, offset: u64) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset).map_or(bytes.len(), |start| start.min(bytes.len()));
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::server::binary;

    #[test]
    fn taken_port_is_reported_as_port_in_use() {
        let binary = binary::VALKEY.locate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let occupant = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = occupant.local_addr().unwrap().port();
        let args: Vec<OsString> = ["--port", &port.to_string(), "--bind", "127.0.0.1"]
            .iter()
            .map(OsString::from)
            .chain(["--logfile".into(), log.clone().into_os_string()])
            .collect();

        let launch = Launch {
            program: binary::VALKEY.name,
            binary: &binary,
            args: &args,
            log: &log,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            readiness: Readiness::Ping,
            timeout: Duration::from_secs(10),
        };
        let error = launch.run().unwrap_err();

        assert!(matches!(error, LaunchError::PortInUse(_)), "{error:?}");
    }
}
