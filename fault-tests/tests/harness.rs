//! The server harness against a real `valkey-server`.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::Duration;

use fault_tests::resp::{Connection, Reply};
use fault_tests::{ServerBuilder, ServerError};

/// How long a PING to a paused server waits before the test calls it
/// unanswered. A running server on loopback replies in well under 1 ms.
const PAUSED_WAIT: Duration = Duration::from_millis(300);

fn pong() -> Reply {
    Reply::Simple("PONG".to_owned())
}

fn bulk(text: &str) -> Reply {
    Reply::Bulk(text.as_bytes().to_vec())
}

#[test]
fn valkey_starts_and_answers_ping() {
    let server = ServerBuilder::valkey().start().unwrap();

    assert_eq!(server.command(&["PING"]).unwrap(), pong());
    assert_eq!(server.url(), format!("redis://127.0.0.1:{}", server.port()));
    assert_eq!(server.addr().port(), server.port());
    assert!(server.tls_files().is_none());
    assert!(server.pid().is_some());
    let log = server.log_tail(50);
    assert!(log.contains("Ready to accept connections"), "log:\n{log}");
}

#[test]
fn default_settings_disable_persistence() {
    let server = ServerBuilder::valkey().start().unwrap();

    let save = server.command(&["CONFIG", "GET", "save"]).unwrap();
    let appendonly = server.command(&["CONFIG", "GET", "appendonly"]).unwrap();
    let bind = server.command(&["CONFIG", "GET", "bind"]).unwrap();

    assert_eq!(save, Reply::Array(vec![bulk("save"), bulk("")]));
    assert_eq!(
        appendonly,
        Reply::Array(vec![bulk("appendonly"), bulk("no")])
    );
    assert_eq!(bind, Reply::Array(vec![bulk("bind"), bulk("127.0.0.1")]));
}

#[test]
fn extra_args_apply_and_override_defaults() {
    let server = ServerBuilder::valkey()
        .arg("--maxmemory", "1mb")
        .arg("--appendonly", "yes")
        .start()
        .unwrap();

    let maxmemory = server.command(&["CONFIG", "GET", "maxmemory"]).unwrap();
    let appendonly = server.command(&["CONFIG", "GET", "appendonly"]).unwrap();

    assert_eq!(
        maxmemory,
        Reply::Array(vec![bulk("maxmemory"), bulk("1048576")])
    );
    assert_eq!(
        appendonly,
        Reply::Array(vec![bulk("appendonly"), bulk("yes")])
    );
}

#[test]
fn acl_user_from_args_can_authenticate() {
    let server = ServerBuilder::valkey()
        .args("--user", ["alice", "on", ">wonderland", "~*", "+@all"])
        .start()
        .unwrap();
    let mut connection = Connection::connect(server.addr(), Duration::from_secs(5)).unwrap();

    let wrong = connection
        .command(&["AUTH", "alice", "looking-glass"])
        .unwrap();
    let right = connection
        .command(&["AUTH", "alice", "wonderland"])
        .unwrap();

    assert!(
        matches!(wrong, Reply::Error(ref message) if message.starts_with("WRONGPASS")),
        "{wrong:?}"
    );
    assert_eq!(right, Reply::Simple("OK".to_owned()));
    assert_eq!(
        connection.command(&["ACL", "WHOAMI"]).unwrap(),
        bulk("alice")
    );
}

#[test]
fn password_protected_server_counts_as_ready() {
    let server = ServerBuilder::valkey()
        .arg("--requirepass", "secret")
        .start()
        .unwrap();

    let reply = server.command(&["PING"]).unwrap();

    assert!(
        matches!(reply, Reply::Error(ref message) if message.starts_with("NOAUTH")),
        "{reply:?}"
    );
}

#[test]
fn kill_then_restart_keeps_port_and_folder() {
    let mut server = ServerBuilder::valkey().start().unwrap();
    let port = server.port();
    let dir = server.dir().to_path_buf();
    let first_pid = server.pid().unwrap();

    server.kill();
    let refused = TcpStream::connect(server.addr()).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(server.pid(), None);

    server.restart().unwrap();
    assert_eq!(server.port(), port);
    assert_eq!(server.dir(), dir);
    assert_ne!(server.pid(), Some(first_pid));
    assert_eq!(server.command(&["PING"]).unwrap(), pong());
}

#[test]
fn restart_of_running_server_replaces_process() {
    let mut server = ServerBuilder::valkey().start().unwrap();
    server.command(&["SET", "key", "value"]).unwrap();
    let first_pid = server.pid().unwrap();

    server.restart().unwrap();

    assert_ne!(server.pid(), Some(first_pid));
    assert_eq!(
        server.command(&["GET", "key"]).unwrap(),
        Reply::Nil,
        "persistence is off"
    );
}

#[test]
fn pause_stops_replies_until_resume() {
    let server = ServerBuilder::valkey().start().unwrap();

    server.pause().unwrap();
    let mut connection = Connection::connect(server.addr(), PAUSED_WAIT).unwrap();
    let unanswered = connection.command(&["PING"]).unwrap_err();
    server.resume().unwrap();

    assert!(
        matches!(
            unanswered.kind(),
            ErrorKind::WouldBlock | ErrorKind::TimedOut
        ),
        "{unanswered:?}"
    );
    assert_eq!(server.command(&["PING"]).unwrap(), pong());
}

#[test]
fn signals_to_killed_server_are_rejected() {
    let mut server = ServerBuilder::valkey().start().unwrap();

    server.kill();
    let error = server.pause().unwrap_err();

    assert!(matches!(error, ServerError::NotRunning { .. }), "{error:?}");
    assert!(error.to_string().contains("not running"), "{error}");
}

#[test]
fn drop_stops_process_and_removes_folder() {
    let server = ServerBuilder::valkey().start().unwrap();
    let addr = server.addr();
    let dir = server.dir().to_path_buf();

    drop(server);

    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn missing_binary_fails_with_install_hint() {
    let error = ServerBuilder::valkey()
        .binary("/nonexistent/valkey-server")
        .start()
        .unwrap_err();

    let message = error.to_string();
    assert!(
        matches!(error, ServerError::BinaryNotFound { .. }),
        "{error:?}"
    );
    assert!(message.contains("/nonexistent/valkey-server"), "{message}");
    assert!(
        message.contains("bash scripts/install-valkey.sh"),
        "{message}"
    );
}

#[test]
fn invalid_option_fails_with_log_tail() {
    let error = ServerBuilder::valkey()
        .arg("--no-such-directive", "1")
        .start()
        .unwrap_err();

    let message = error.to_string();
    assert!(matches!(error, ServerError::Exited { .. }), "{error:?}");
    assert!(message.contains("no-such-directive"), "{message}");
}

#[test]
#[should_panic(expected = "must start with `--`")]
fn option_without_dashes_panics() {
    let _ = ServerBuilder::valkey().arg("maxmemory", "1mb");
}
