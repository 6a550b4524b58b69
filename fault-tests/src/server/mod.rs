//! Real server processes for tests: start, kill, restart, pause and resume.
//!
//! ```
//! use fault_tests::resp::Reply;
//! use fault_tests::ServerBuilder;
//!
//! let server = ServerBuilder::valkey().arg("--maxmemory", "1mb").start()?;
//! assert_eq!(server.command(&["PING"])?, Reply::Simple("PONG".to_owned()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The API is blocking, because it manages child processes and its `Drop`
//! must stop them. Each call returns within the ready timeout, so async
//! tests may call it directly.

mod binary;
mod builder;
mod error;
mod process;
mod tls;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use tempfile::TempDir;

pub use builder::{DEFAULT_READY_TIMEOUT, ServerBuilder};
pub use error::ServerError;
pub use tls::TlsFiles;

use crate::resp::{Connection, Reply};
use builder::Spec;

/// Timeout of the connect and of the reply in [`Server::command`].
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// A running test server on 127.0.0.1.
///
/// Dropping it kills the process with SIGKILL, waits for it to exit and
/// removes its folder.
#[derive(Debug)]
pub struct Server {
    spec: Spec,
    child: Option<Child>,
    tls: Option<TlsFiles>,
    dir: TempDir,
}

impl Server {
    fn new(spec: Spec, child: Child, dir: TempDir, tls: Option<TlsFiles>) -> Self {
        Self {
            spec,
            child: Some(child),
            tls,
            dir,
        }
    }

    /// Returns the port that clients connect to: the TLS port of a TLS server.
    pub fn port(&self) -> u16 {
        self.spec.port
    }

    /// Returns `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        self.spec.addr()
    }

    /// Returns `redis://127.0.0.1:PORT`, or `rediss://127.0.0.1:PORT` for a
    /// TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://{}", self.addr())
    }

    /// Returns the process id, or `None` after [`kill`](Self::kill).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Returns the server's temporary folder, its working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Returns the path of the server's log file, which also receives its
    /// standard output and error.
    pub fn log_path(&self) -> &Path {
        &self.spec.log
    }

    /// Returns the last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        process::log_tail(&self.spec.log, lines)
    }

    /// Returns the certificate files of a TLS server, or `None` for a
    /// plain-text server.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// Sends one command over plain-text RESP2 and returns the reply. An
    /// error reply is `Ok`. It cannot reach a TLS server.
    ///
    /// # Errors
    ///
    /// Returns the I/O error of the connect, the write or the read; a reply
    /// that takes more than 5 seconds gives `WouldBlock` or `TimedOut`.
    pub fn command<A: AsRef<[u8]>>(&self, args: &[A]) -> io::Result<Reply> {
        Connection::connect(self.addr(), COMMAND_TIMEOUT)?.command(args)
    }

    /// Kills the process with SIGKILL and waits for it to exit. Does nothing
    /// when it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::stop(&mut child);
        }
    }

    /// Kills the process if it is running, then starts it again on the same
    /// port, in the same folder and with the same options, and waits until
    /// it is ready.
    ///
    /// # Errors
    ///
    /// Returns [`ServerError::Exited`] when the server exits before it is
    /// ready, for example because another process took the port, and
    /// [`ServerError::NotReady`] when it is not ready in time.
    pub fn restart(&mut self) -> Result<(), ServerError> {
        self.kill();
        self.child = Some(self.spec.launch()?);
        Ok(())
    }

    /// Stops the process with SIGSTOP: it keeps its sockets but serves no
    /// request until [`resume`](Self::resume).
    ///
    /// # Errors
    ///
    /// Returns [`ServerError::NotRunning`] after [`kill`](Self::kill) and
    /// [`ServerError::Io`] when the signal cannot be sent.
    pub fn pause(&self) -> Result<(), ServerError> {
        self.signal(Signal::SIGSTOP, "paused")
    }

    /// Continues a paused process with SIGCONT.
    ///
    /// # Errors
    ///
    /// As for [`pause`](Self::pause).
    pub fn resume(&self) -> Result<(), ServerError> {
        self.signal(Signal::SIGCONT, "resumed")
    }

    fn signal(&self, signal: Signal, action: &'static str) -> Result<(), ServerError> {
        let not_running = || ServerError::NotRunning {
            program: self.spec.program,
            port: self.spec.port,
            action,
        };
        let pid = self.pid().ok_or_else(not_running)?;
        let raw = i32::try_from(pid).map_err(|_| not_running())?;
        signal::kill(Pid::from_raw(raw), signal)
            .map_err(|errno| ServerError::io(format!("send {signal} to pid {pid}"), errno.into()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
