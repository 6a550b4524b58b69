//! Configuring and starting a test server.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::binary::{self, Program};
use super::process::{self, Launch, LaunchError, Readiness};
use super::{Server, ServerError, TlsFiles};

/// Default time that a server has to become ready.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Number of free ports tried when another process takes the chosen port
/// before the server binds it.
const PORT_ATTEMPTS: usize = 5;

/// The kind of server to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `valkey-server` without TLS.
    Valkey,
    /// `redis-server` with TLS only: the plain-text port is off.
    RedisTls,
}

impl Flavor {
    fn program(self) -> Program {
        match self {
            Self::Valkey => binary::VALKEY,
            Self::RedisTls => binary::REDIS_TLS,
        }
    }

    fn readiness(self) -> Readiness {
        match self {
            Self::Valkey => Readiness::Ping,
            Self::RedisTls => Readiness::TcpAccept,
        }
    }
}

/// A builder of test servers on 127.0.0.1.
///
/// Every server gets a free port, its own temporary folder and log file,
/// and these settings: `bind 127.0.0.1`, `protected-mode no`, `save ""`,
/// `appendonly no` and `daemonize no`. Options added with [`arg`](Self::arg)
/// and [`args`](Self::args) come after them on the command line, so for
/// single-valued settings such as `--appendonly` they win. The harness owns
/// `--port`, `--tls-port`, `--dir` and `--logfile`, so tests must not set them.
///
/// # Default
///
/// The server must be ready within [`DEFAULT_READY_TIMEOUT`].
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    flavor: Flavor,
    binary: Option<PathBuf>,
    options: Vec<OsString>,
    ready_timeout: Duration,
}

impl ServerBuilder {
    /// Starts building a `valkey-server`, found through `VALKEY_SERVER_BIN`
    /// or else at `.tools/bin/valkey-server` of the workspace.
    ///
    /// The server is ready when it replies to `PING`.
    pub fn valkey() -> Self {
        Self::new(Flavor::Valkey)
    }

    /// Starts building a `redis-server` that listens with TLS only, found
    /// through `REDIS_TLS_SERVER_BIN` or else on `PATH`.
    ///
    /// [`start`](Self::start) generates [`TlsFiles`] in the server's folder
    /// and sets `tls-port`, `tls-cert-file`, `tls-key-file`,
    /// `tls-ca-cert-file` and `tls-auth-clients no`. The server is ready when
    /// its TLS port accepts a TCP connection.
    pub fn redis_tls() -> Self {
        Self::new(Flavor::RedisTls)
    }

    fn new(flavor: Flavor) -> Self {
        Self {
            flavor,
            binary: None,
            options: Vec::new(),
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }

    /// Uses this binary instead of looking for one.
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Adds a configuration option with one value, such as
    /// `.arg("--maxmemory", "1mb")`.
    ///
    /// # Panics
    ///
    /// Panics when `name` does not start with `--`.
    #[track_caller]
    pub fn arg(self, name: &str, value: impl Into<OsString>) -> Self {
        self.args(name, [value])
    }

    /// Adds a configuration option with several values, each passed as its
    /// own argument, such as
    /// `.args("--user", ["alice", "on", ">secret", "~*", "+@all"])`.
    ///
    /// # Panics
    ///
    /// Panics when `name` does not start with `--`.
    #[track_caller]
    pub fn args<V: Into<OsString>>(
        mut self,
        name: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        assert!(
            name.starts_with("--"),
            "option name {name:?} must start with `--`, as in `--maxmemory`"
        );
        self.options.push(name.into());
        self.options.extend(values.into_iter().map(Into::into));
        self
    }

    /// Sets how long the server has to become ready, at start and restart.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Starts the server and waits until it is ready.
    ///
    /// # Errors
    ///
    /// - [`ServerError::BinaryNotFound`] when the binary is missing; the
    ///   message names the install script to run.
    /// - [`ServerError::Exited`] when the server exits before it is ready,
    ///   after retrying on another port when the chosen one was taken.
    /// - [`ServerError::NotReady`] when it is not ready in time.
    /// - [`ServerError::Io`] and [`ServerError::Certificate`] when the
    ///   folder, the log or the certificates cannot be made.
    pub fn start(self) -> Result<Server, ServerError> {
        let program = self.flavor.program();
        let binary = match &self.binary {
            Some(path) => program.check(path.clone(), "set by ServerBuilder::binary".to_owned())?,
            None => program.locate()?,
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("fault-tests-{}-", program.name))
            .tempdir()
            .map_err(|source| ServerError::io("create a temporary folder", source))?;
        let tls = match self.flavor {
            Flavor::RedisTls => Some(TlsFiles::generate(dir.path())?),
            Flavor::Valkey => None,
        };

        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let spec = self.spec(&binary, process::free_port()?, dir.path(), tls.as_ref());
            match spec.launch() {
                Ok(child) => return Ok(Server::new(spec, child, dir, tls)),
                Err(LaunchError::PortInUse(error)) => last_error = Some(error),
                Err(LaunchError::Other(error)) => return Err(error),
            }
        }
        Err(last_error.expect("PORT_ATTEMPTS is positive, so a failure was recorded"))
    }

    fn spec(&self, binary: &Path, port: u16, dir: &Path, tls: Option<&TlsFiles>) -> Spec {
        let log = dir.join("server.log");
        let mut args = Vec::new();
        let mut push = |name: &str, value: &dyn AsRef<std::ffi::OsStr>| {
            args.push(OsString::from(name));
            args.push(value.as_ref().to_os_string());
        };
        push("--bind", &"127.0.0.1");
        match tls {
            None => push("--port", &port.to_string()),
            Some(files) => {
                push("--port", &"0");
                push("--tls-port", &port.to_string());
                push("--tls-cert-file", &files.cert);
                push("--tls-key-file", &files.key);
                push("--tls-ca-cert-file", &files.ca_cert);
                push("--tls-auth-clients", &"no");
            }
        }
        push("--protected-mode", &"no");
        push("--save", &"");
        push("--appendonly", &"no");
        push("--daemonize", &"no");
        push("--dir", &dir);
        push("--logfile", &log);
        args.extend(self.options.iter().cloned());

        Spec {
            program: self.flavor.program().name,
            binary: binary.to_path_buf(),
            args,
            log,
            port,
            readiness: self.flavor.readiness(),
            ready_timeout: self.ready_timeout,
        }
    }
}

/// The fixed command line of a server, reused on restart.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) program: &'static str,
    pub(crate) binary: PathBuf,
    pub(crate) args: Vec<OsString>,
    pub(crate) log: PathBuf,
    pub(crate) port: u16,
    pub(crate) readiness: Readiness,
    pub(crate) ready_timeout: Duration,
}

impl Spec {
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    pub(crate) fn launch(&self) -> Result<std::process::Child, LaunchError> {
        Launch {
            program: self.program,
            binary: &self.binary,
            args: &self.args,
            log: &self.log,
            addr: self.addr(),
            readiness: self.readiness,
            timeout: self.ready_timeout,
        }
        .run()
    }
}
