//! The server a drill runs against: one it starts itself, or an existing
//! endpoint.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use url::Url;

use crate::resp::Reply;
use crate::server::{Server, ServerBuilder, ServerError};

use super::runner::DrillError;

/// The server behind the fault proxy.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A `valkey-server` the drill started; process faults apply to it.
    Owned {
        /// The server, shared with the fault driver.
        server: Arc<Mutex<Server>>,
        /// Its address.
        addr: SocketAddr,
        /// Its version, as `INFO server` reports it.
        version: String,
    },
    /// An existing server; process faults are skipped.
    External {
        /// The endpoint as given, with the host and port to connect to.
        url: Url,
        /// The resolved loopback address.
        addr: SocketAddr,
    },
}

impl Backend {
    /// Starts a `valkey-server` on a free port of 127.0.0.1 with an
    /// append-only file synced on every write, so that a SIGKILL loses no
    /// acknowledged append. When the binary is missing, runs
    /// `scripts/install-valkey.sh` once and tries again.
    ///
    /// # Errors
    ///
    /// Returns [`DrillError::Server`] when the server cannot start, and
    /// [`DrillError::Install`] when the install script fails.
    pub fn start_owned() -> Result<Self, DrillError> {
        let server = match start_server() {
            Err(error) => match *error {
                ServerError::BinaryNotFound { install_script, .. } => {
                    install_valkey(&workspace_root().join(install_script))?;
                    start_server()?
                }
                other => return Err(DrillError::from(Box::new(other))),
            },
            Ok(server) => server,
        };
        let version = server_version(&server);
        Ok(Backend::Owned {
            addr: server.addr(),
            server: Arc::new(Mutex::new(server)),
            version,
        })
    }

    /// Uses an existing server at `endpoint` (`redis://HOST:PORT`).
    ///
    /// # Errors
    ///
    /// Returns [`DrillError::Endpoint`] when the URL is invalid, does not
    /// resolve, or resolves to an address that is not loopback: the drill
    /// sends an open-loop load and must not reach another machine.
    pub fn external(endpoint: &str) -> Result<Self, DrillError> {
        let invalid = |reason: String| DrillError::Endpoint {
            endpoint: redact(endpoint),
            reason,
        };
        let url = Url::parse(endpoint).map_err(|error| invalid(error.to_string()))?;
        let host = url
            .host_str()
            .ok_or_else(|| invalid("the URL has no host".to_owned()))?;
        let port = url.port().unwrap_or(6379);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
            .map_err(|error| invalid(format!("failed to resolve the host: {error}")))?
            .find(|addr| addr.ip().is_loopback())
            .ok_or_else(|| invalid("the host is not a loopback address".to_owned()))?;
        Ok(Backend::External { url, addr })
    }

    /// Returns the address the fault proxy forwards to.
    pub fn addr(&self) -> SocketAddr {
        match self {
            Backend::Owned { addr, .. } | Backend::External { addr, .. } => *addr,
        }
    }

    /// Returns the server process, when the drill started it.
    pub fn server(&self) -> Option<&Arc<Mutex<Server>>> {
        match self {
            Backend::Owned { server, .. } => Some(server),
            Backend::External { .. } => None,
        }
    }

    /// Returns the description of the server shown in the report.
    pub fn describe(&self) -> String {
        match self {
            Backend::Owned { version, .. } => {
                format!("valkey-server {version} started by the drill")
            }
            Backend::External { url, .. } => format!("external endpoint {}", redact(url.as_str())),
        }
    }

    /// Returns the endpoint URL the store uses to reach the server through a
    /// proxy listening on `proxy`. Credentials and the database number of an
    /// external endpoint are kept.
    pub fn store_endpoint(&self, proxy: SocketAddr) -> String {
        match self {
            Backend::Owned { .. } => format!("redis://{proxy}"),
            Backend::External { url, .. } => {
                let mut url = url.clone();
                // Both setters fail only for URLs without a host, which
                // `external` rejected.
                let _ = url.set_ip_host(proxy.ip());
                let _ = url.set_port(Some(proxy.port()));
                url.to_string()
            }
        }
    }
}

fn start_server() -> Result<Server, Box<ServerError>> {
    ServerBuilder::valkey()
        .arg("--appendonly", "yes")
        .arg("--appendfsync", "always")
        .start()
        .map_err(Box::new)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives inside the workspace")
        .to_path_buf()
}

fn install_valkey(script: &Path) -> Result<(), DrillError> {
    eprintln!(
        "valkey-server is not installed; running bash {}",
        script.display()
    );
    let status = Command::new("bash").arg(script).status();
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(DrillError::Install {
            script: script.to_path_buf(),
            reason: format!("it exited with {status}"),
        }),
        Err(error) => Err(DrillError::Install {
            script: script.to_path_buf(),
            reason: format!("failed to run bash: {error}"),
        }),
    }
}

/// Reads `valkey_version` from `INFO server`, or "unknown".
fn server_version(server: &Server) -> String {
    let Ok(Reply::Bulk(info)) = server.command(&["INFO", "server"]) else {
        return "unknown".to_owned();
    };
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|line| line.strip_prefix("valkey_version:"))
        .map_or_else(|| "unknown".to_owned(), |version| version.trim().to_owned())
}

/// Removes the user info from an endpoint before it is shown.
fn redact(endpoint: &str) -> String {
    match Url::parse(endpoint) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => "<invalid URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_endpoint_must_be_loopback() {
        let error = Backend::external("redis://192.0.2.1:6379").expect_err("not loopback");
        assert!(
            error.to_string().contains("not a loopback address"),
            "{error}"
        );
    }

    #[test]
    fn store_endpoint_keeps_credentials_and_database() {
        let backend = Backend::external("redis://user:secret@127.0.0.1:7000/2").expect("loopback");
        let proxy: SocketAddr = "127.0.0.1:45000".parse().expect("valid address");
        assert_eq!(
            backend.store_endpoint(proxy),
            "redis://user:secret@127.0.0.1:45000/2"
        );
        assert_eq!(
            backend.addr(),
            "127.0.0.1:7000".parse().expect("valid address")
        );
    }

    #[test]
    fn described_endpoint_hides_credentials() {
        let backend = Backend::external("redis://user:secret@127.0.0.1:7000").expect("loopback");
        let description = backend.describe();
        assert!(!description.contains("secret"), "{description}");
        assert!(description.contains("127.0.0.1:7000"), "{description}");
    }
}
