use std::io;

use redis::{ErrorKind, RedisError, ServerErrorKind};
use resilience_core::{Classification, Classify, Delivery, ErrorClass};

use super::{BackendError, classify_redis_error, discards_connection};

fn transient() -> Classification {
    Classification::transient()
}

fn permanent() -> Classification {
    Classification::permanent()
}

/// Parses a RESP error line the way the connection does.
fn server_reply(line: &str) -> RedisError {
    let bytes = format!("{line}\r\n");
    redis::parse_redis_value(bytes.as_bytes())
        .expect("a RESP error line parses into a value")
        .extract_error()
        .expect_err("an error value converts into an error")
}

#[test]
fn error_kinds_classify_as_documented() {
    let cases: Vec<(ErrorKind, Classification)> = vec![
        (ErrorKind::Parse, transient()),
        (ErrorKind::Io, transient()),
        (ErrorKind::AuthenticationFailed, permanent()),
        (ErrorKind::UnexpectedReturnType, permanent()),
        (ErrorKind::InvalidClientConfig, permanent()),
        (ErrorKind::Client, permanent()),
        (ErrorKind::Extension, permanent()),
        (ErrorKind::MasterNameNotFoundBySentinel, transient()),
        (ErrorKind::NoValidReplicasFoundBySentinel, transient()),
        (ErrorKind::EmptySentinelList, permanent()),
        (ErrorKind::ClusterConnectionNotFound, transient()),
        (ErrorKind::RESP3NotSupported, permanent()),
        (
            ErrorKind::Server(ServerErrorKind::ResponseError),
            permanent(),
        ),
        (ErrorKind::Server(ServerErrorKind::ExecAbort), permanent()),
        (ErrorKind::Server(ServerErrorKind::BusyLoading), transient()),
        (ErrorKind::Server(ServerErrorKind::NoScript), permanent()),
        (ErrorKind::Server(ServerErrorKind::Moved), permanent()),
        (ErrorKind::Server(ServerErrorKind::Ask), permanent()),
        (ErrorKind::Server(ServerErrorKind::TryAgain), transient()),
        (ErrorKind::Server(ServerErrorKind::ClusterDown), transient()),
        (ErrorKind::Server(ServerErrorKind::CrossSlot), permanent()),
        (ErrorKind::Server(ServerErrorKind::MasterDown), transient()),
        (ErrorKind::Server(ServerErrorKind::ReadOnly), transient()),
        (ErrorKind::Server(ServerErrorKind::NotBusy), permanent()),
        (ErrorKind::Server(ServerErrorKind::NoSub), permanent()),
        (ErrorKind::Server(ServerErrorKind::NoPerm), permanent()),
    ];
    for (kind, expected) in cases {
        let error = RedisError::from((kind, "description"));
        assert_eq!(classify_redis_error(&error), expected, "kind {kind:?}");
    }
}

#[test]
fn io_errors_classify_by_io_kind() {
    let cases = [
        (
            io::ErrorKind::ConnectionRefused,
            Classification::transient_not_sent(),
        ),
        (io::ErrorKind::ConnectionReset, transient()),
        (io::ErrorKind::BrokenPipe, transient()),
        (io::ErrorKind::UnexpectedEof, transient()),
        (io::ErrorKind::TimedOut, transient()),
        (io::ErrorKind::PermissionDenied, permanent()),
    ];
    for (kind, expected) in cases {
        let error = RedisError::from(io::Error::new(kind, "socket"));
        assert_eq!(classify_redis_error(&error), expected, "io kind {kind:?}");
    }
}

#[test]
fn tls_certificate_error_is_permanent() {
    let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
    // tokio-rustls reports handshake failures as InvalidData wrapping the rustls error.
    let error = RedisError::from(io::Error::new(io::ErrorKind::InvalidData, tls.clone()));
    assert_eq!(classify_redis_error(&error), permanent());
    // The same rustls error inside an I/O kind that is otherwise transient.
    let error = RedisError::from(io::Error::new(io::ErrorKind::ConnectionAborted, tls));
    assert_eq!(classify_redis_error(&error), permanent());
}

#[test]
fn server_replies_classify_by_code() {
    let cases = [
        (
            "-LOADING Valkey is loading the dataset in memory",
            transient(),
        ),
        ("-BUSY Valkey is busy running a script", transient()),
        (
            "-TRYAGAIN Multiple keys request during rehashing of slot",
            transient(),
        ),
        ("-MASTERDOWN Link with MASTER is down", transient()),
        ("-CLUSTERDOWN The cluster is down", transient()),
        (
            "-READONLY You can't write against a read only replica.",
            transient(),
        ),
        (
            "-NOREPLICAS Not enough good replicas to write.",
            transient(),
        ),
        (
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
            permanent(),
        ),
        (
            "-NOPERM User limited has no permissions to run the 'expire' command",
            permanent(),
        ),
        ("-NOAUTH Authentication required.", permanent()),
        (
            "-OOM command not allowed when used memory > 'maxmemory'.",
            permanent(),
        ),
        (
            "-EXECABORT Transaction discarded because of previous errors.",
            permanent(),
        ),
        ("-ERR unknown command 'FOO'", permanent()),
        (
            "-WRONGPASS invalid username-password pair or user is disabled.",
            permanent(),
        ),
    ];
    for (line, expected) in cases {
        let error = server_reply(line);
        assert_eq!(classify_redis_error(&error), expected, "reply {line}");
    }
}

#[test]
fn unknown_server_code_falls_to_the_permanent_arm() {
    // redis-rs's enums are non-exhaustive, and a code this crate does not
    // list reaches the same catch-all decision as a future kind would.
    let error = server_reply("-SOMENEWCODE a failure no release has yet");
    assert_eq!(error.kind(), ErrorKind::Extension);
    assert_eq!(classify_redis_error(&error), permanent());
}

#[test]
fn connection_discarded_unless_reply_was_permanent() {
    assert!(discards_connection(&RedisError::from((
        ErrorKind::Parse,
        "closed mid-reply"
    ))));
    assert!(discards_connection(&RedisError::from(io::Error::from(
        io::ErrorKind::ConnectionReset
    ))));
    assert!(discards_connection(&server_reply("-LOADING loading")));
    assert!(discards_connection(&server_reply("-BUSY script")));
    assert!(!discards_connection(&server_reply("-WRONGTYPE wrong kind")));
    assert!(!discards_connection(&server_reply("-NOPERM no permission")));
}

#[test]
fn dial_failure_proves_nothing_was_sent() {
    let reset = || RedisError::from(io::Error::from(io::ErrorKind::ConnectionReset));
    let connect = BackendError::connect(reset());
    assert_eq!(connect.classify().delivery(), Delivery::NotSent);
    assert!(connect.classify().is_transient());
    let command = BackendError::command(reset());
    assert_eq!(command.classify().delivery(), Delivery::Unknown);
    let auth = BackendError::connect(RedisError::from((
        ErrorKind::AuthenticationFailed,
        "wrong password",
    )));
    assert_eq!(auth.classify().class(), ErrorClass::Permanent);
}

#[test]
fn backend_error_display_names_the_stage() {
    let error = RedisError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
    assert_eq!(
        BackendError::connect(error.clone()).to_string(),
        "connecting to the server failed"
    );
    assert_eq!(BackendError::command(error).to_string(), "command failed");
    let error = BackendError::command(server_reply("-OOM full"));
    let source = std::error::Error::source(&error).expect("the redis error is the source");
    assert!(source.to_string().contains("full"), "{source}");
}
