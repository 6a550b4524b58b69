//! The error type of the server harness.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// A failure to find, start or signal a test server.
///
/// Every variant is permanent for the test that gets it: the test should
/// fail with this message, which names what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The server binary does not exist.
    #[error(
        "{program} not found at {} ({origin}), so run `bash {install_script}` to install it",
        path.display()
    )]
    BinaryNotFound {
        /// The program that was looked for, such as `valkey-server`.
        program: &'static str,
        /// The path that was checked.
        path: PathBuf,
        /// The source of the path: an environment variable, the default
        /// location or the `PATH` search.
        origin: String,
        /// The script of this repository that installs the program.
        install_script: &'static str,
    },
    /// An I/O operation of the harness failed.
    #[error("failed to {action}")]
    Io {
        /// The operation that the harness attempted.
        action: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Generating the test certificates failed.
    #[error("failed to generate the test TLS certificates")]
    Certificate(#[source] rcgen::Error),
    /// The server process exited before it was ready.
    #[error(
        "{program} exited with {status} before it accepted connections on 127.0.0.1:{port}; last lines of {}:\n{log_tail}",
        log.display()
    )]
    Exited {
        /// The program that exited.
        program: &'static str,
        /// The port of 127.0.0.1 that it was configured to listen on.
        port: u16,
        /// Its exit status.
        status: ExitStatus,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log file.
        log_tail: String,
    },
    /// The server did not become ready before the deadline.
    #[error(
        "{program} did not {expected} on 127.0.0.1:{port} within {waited:?}; last lines of {}:\n{log_tail}",
        log.display()
    )]
    NotReady {
        /// The program that was waited for.
        program: &'static str,
        /// The port of 127.0.0.1 that it was configured to listen on.
        port: u16,
        /// The readiness condition, such as `reply to PING`.
        expected: &'static str,
        /// How long the harness waited.
        waited: Duration,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log file.
        log_tail: String,
    },
    /// A signal was requested for a server that is not running.
    #[error("{program} on port {port} is not running, so it cannot be {action}")]
    NotRunning {
        /// The program.
        program: &'static str,
        /// Its port.
        port: u16,
        /// The action that was requested, such as `paused`.
        action: &'static str,
    },
}

impl ServerError {
    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}
