use redis::Value;
use resilience_core::{Classify, ErrorClass};

use super::{Request, parse_append, parse_load};
use crate::error::AttemptError;
use crate::valkey::reply_error::ReplyErrorKind;

const KEY: &str = "taint:v1:abc";

fn error_value(line: &str) -> Value {
    redis::parse_redis_value(format!("{line}\r\n").as_bytes()).expect("a RESP error line parses")
}

fn bulk(text: &str) -> Value {
    Value::BulkString(text.as_bytes().to_vec())
}

fn queued() -> Value {
    Value::SimpleString("QUEUED".to_owned())
}

fn packed_commands(request: &Request) -> String {
    String::from_utf8_lossy(&request.pipeline().get_packed_pipeline()).into_owned()
}

fn reply_kind(error: AttemptError) -> ReplyErrorKind {
    match error {
        AttemptError::Reply(reply) => reply.kind(),
        other => panic!("expected a reply error, got {other:?}"),
    }
}

fn server_code(error: AttemptError) -> String {
    match error {
        AttemptError::Backend(backend) => backend.redis_error().code().unwrap_or("").to_owned(),
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[test]
fn load_sends_members_refresh_and_nonce_in_order() {
    let request = Request::load(KEY, Some(60), Some("n-1".to_owned()));
    assert_eq!(request.reply_count(), 3);
    let packed = packed_commands(&request);
    let smembers = packed.find("SMEMBERS").unwrap();
    let expire = packed.find("EXPIRE").unwrap();
    let echo = packed.find("ECHO").unwrap();
    assert!(smembers < expire, "{packed:?}");
    assert!(expire < echo, "{packed:?}");
    assert!(packed.contains("\r\n60\r\n"), "{packed:?}");
}

#[test]
fn load_without_ttl_or_nonce_is_one_command() {
    let request = Request::load(KEY, None, None);
    assert_eq!(request.reply_count(), 1);
    let reply = parse_load(&request, vec![Value::Array(vec![bulk("PII")])]).unwrap();
    assert_eq!(reply.labels.into_iter().collect::<Vec<_>>(), ["PII"]);
    assert!(reply.refresh_error.is_none());
}

#[test]
fn load_decodes_array_and_resp3_set() {
    let request = Request::load(KEY, Some(60), Some("n".to_owned()));
    for members in [
        Value::Array(vec![bulk("SECRET"), bulk("PII")]),
        Value::Set(vec![bulk("PII"), bulk("SECRET")]),
    ] {
        let reply = parse_load(&request, vec![members, Value::Int(1), bulk("n")]).unwrap();
        assert_eq!(
            reply.labels.into_iter().collect::<Vec<_>>(),
            ["PII", "SECRET"]
        );
    }
}

#[test]
fn load_of_missing_key_is_empty() {
    let request = Request::load(KEY, Some(60), Some("n".to_owned()));
    let reply = parse_load(
        &request,
        vec![Value::Array(vec![]), Value::Int(0), bulk("n")],
    )
    .unwrap();
    assert!(reply.labels.is_empty());
    assert!(reply.refresh_error.is_none());
}

#[test]
fn load_with_failed_refresh_returns_labels_and_error() {
    let request = Request::load(KEY, Some(60), Some("n".to_owned()));
    let replies = vec![
        Value::Array(vec![bulk("PII")]),
        error_value("-NOPERM User reader has no permissions to run the 'expire' command"),
        bulk("n"),
    ];
    let reply = parse_load(&request, replies).unwrap();
    assert_eq!(reply.labels.len(), 1);
    assert_eq!(reply.refresh_error.unwrap().code(), "NOPERM");
}

#[test]
fn load_rejects_nonce_mismatch_before_reading_members() {
    let request = Request::load(KEY, None, Some("mine".to_owned()));
    let replies = vec![Value::Array(vec![bulk("PII")]), bulk("theirs")];
    let error = parse_load(&request, replies).unwrap_err();
    assert_eq!(reply_kind(error), ReplyErrorKind::NonceMismatch);

    let replies = vec![Value::Array(vec![bulk("PII")]), Value::Int(1)];
    let error = parse_load(&request, replies).unwrap_err();
    assert_eq!(reply_kind(error), ReplyErrorKind::NonceMismatch);
}

#[test]
fn load_rejects_non_utf8_member_as_permanent() {
    let request = Request::load(KEY, None, None);
    let members = Value::Array(vec![bulk("PII"), Value::BulkString(vec![0xff, 0xfe])]);
    let error = parse_load(&request, vec![members]).unwrap_err();
    assert_eq!(error.classify().class(), ErrorClass::Permanent);
    assert_eq!(reply_kind(error), ReplyErrorKind::NonUtf8Member);
}

#[test]
fn load_rejects_wrong_reply_shapes() {
    let request = Request::load(KEY, Some(60), None);
    let cases = [
        vec![Value::Nil, Value::Int(1)],
        vec![Value::Array(vec![Value::Int(5)]), Value::Int(1)],
        vec![Value::Array(vec![]), Value::Okay],
        vec![Value::Array(vec![])],
    ];
    for replies in cases {
        let error = parse_load(&request, replies.clone()).unwrap_err();
        assert_eq!(
            reply_kind(error),
            ReplyErrorKind::UnexpectedReply,
            "{replies:?}"
        );
    }
}

#[test]
fn load_of_wrong_type_key_fails() {
    let request = Request::load(KEY, Some(60), None);
    let replies = vec![
        error_value("-WRONGTYPE Operation against a key holding the wrong kind of value"),
        Value::Int(1),
    ];
    let error = parse_load(&request, replies).unwrap_err();
    assert_eq!(error.classify().class(), ErrorClass::Permanent);
    assert_eq!(server_code(error), "WRONGTYPE");
}

#[test]
fn append_sends_transaction_then_nonce() {
    let request = Request::append(KEY, &["PII", "SECRET"], Some(60), Some("n".to_owned()));
    assert_eq!(request.reply_count(), 5);
    let packed = packed_commands(&request);
    let order = ["MULTI", "SADD", "EXPIRE", "EXEC", "ECHO"].map(|name| packed.find(name).unwrap());
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{packed:?}");
    assert!(packed.contains("PII"), "{packed:?}");
    assert!(packed.contains("SECRET"), "{packed:?}");
}

#[test]
fn append_accepts_a_committed_transaction() {
    let request = Request::append(KEY, &["PII"], Some(60), Some("n".to_owned()));
    let replies = vec![
        Value::Okay,
        queued(),
        queued(),
        Value::Array(vec![Value::Int(1), Value::Int(1)]),
        bulk("n"),
    ];
    parse_append(&request, replies).unwrap();

    let request = Request::append(KEY, &["PII"], None, None);
    let replies = vec![Value::Okay, queued(), Value::Array(vec![Value::Int(0)])];
    parse_append(&request, replies).unwrap();
}

#[test]
fn append_reports_the_error_raised_inside_exec() {
    // WRONGTYPE is raised when EXEC runs the SADD, so it sits inside the
    // EXEC array while the transaction itself succeeded.
    let request = Request::append(KEY, &["PII"], Some(60), Some("n".to_owned()));
    let replies = vec![
        Value::Okay,
        queued(),
        queued(),
        Value::Array(vec![
            error_value("-WRONGTYPE Operation against a key holding the wrong kind of value"),
            Value::Int(1),
        ]),
        bulk("n"),
    ];
    let error = parse_append(&request, replies).unwrap_err();
    assert_eq!(error.classify().class(), ErrorClass::Permanent);
    assert_eq!(server_code(error), "WRONGTYPE");
}

#[test]
fn append_reports_the_queue_time_error_not_execabort() {
    let request = Request::append(KEY, &["PII"], Some(60), Some("n".to_owned()));
    let replies = vec![
        Value::Okay,
        queued(),
        error_value("-NOPERM User writer has no permissions to run the 'expire' command"),
        error_value("-EXECABORT Transaction discarded because of previous errors."),
        bulk("n"),
    ];
    let error = parse_append(&request, replies).unwrap_err();
    assert_eq!(server_code(error), "NOPERM");

    let replies = vec![
        Value::Okay,
        error_value("-OOM command not allowed when used memory > 'maxmemory'."),
        queued(),
        error_value("-EXECABORT Transaction discarded because of previous errors."),
        bulk("n"),
    ];
    let error = parse_append(&request, replies).unwrap_err();
    assert_eq!(server_code(error), "OOM");
}

#[test]
fn append_rejects_malformed_transactions() {
    let request = Request::append(KEY, &["PII"], Some(60), None);
    let cases = [
        vec![
            Value::Int(1),
            queued(),
            queued(),
            Value::Array(vec![Value::Int(1), Value::Int(1)]),
        ],
        vec![
            Value::Okay,
            Value::Okay,
            queued(),
            Value::Array(vec![Value::Int(1), Value::Int(1)]),
        ],
        vec![Value::Okay, queued(), queued(), Value::Nil],
        vec![
            Value::Okay,
            queued(),
            queued(),
            Value::Array(vec![Value::Int(1)]),
        ],
        vec![
            Value::Okay,
            queued(),
            queued(),
            Value::Array(vec![Value::Okay, Value::Int(1)]),
        ],
    ];
    for replies in cases {
        let error = parse_append(&request, replies.clone()).unwrap_err();
        assert_eq!(
            reply_kind(error),
            ReplyErrorKind::UnexpectedReply,
            "{replies:?}"
        );
    }
}

#[test]
fn append_rejects_nonce_mismatch() {
    let request = Request::append(KEY, &["PII"], None, Some("mine".to_owned()));
    let replies = vec![
        Value::Okay,
        queued(),
        Value::Array(vec![Value::Int(1)]),
        bulk("theirs"),
    ];
    let error = parse_append(&request, replies).unwrap_err();
    assert_eq!(reply_kind(error), ReplyErrorKind::NonceMismatch);
}

#[test]
fn rejected_echo_reports_the_server_error() {
    let rejected =
        || error_value("-NOPERM User gateway has no permissions to run the 'echo' command");
    let request = Request::load(KEY, Some(60), Some("n".to_owned()));
    let replies = vec![Value::Array(vec![bulk("PII")]), Value::Int(1), rejected()];
    let error = parse_load(&request, replies).unwrap_err();
    assert_eq!(error.classify().class(), ErrorClass::Permanent);
    assert_eq!(server_code(error), "NOPERM");

    let request = Request::append(KEY, &["PII"], Some(60), Some("n".to_owned()));
    let replies = vec![
        Value::Okay,
        queued(),
        queued(),
        Value::Array(vec![Value::Int(1), Value::Int(1)]),
        rejected(),
    ];
    let error = parse_append(&request, replies).unwrap_err();
    assert_eq!(server_code(error), "NOPERM");
}

#[test]
fn refresh_rejected_by_a_replica_fails_the_load() {
    let request = Request::load(KEY, Some(60), Some("n".to_owned()));
    let replies = vec![
        Value::Array(vec![bulk("PII")]),
        error_value("-READONLY You can't write against a read only replica."),
        bulk("n"),
    ];
    let error = parse_load(&request, replies).unwrap_err();
    assert_eq!(error.classify().class(), ErrorClass::Transient);
    assert_eq!(server_code(error), "READONLY");
}
