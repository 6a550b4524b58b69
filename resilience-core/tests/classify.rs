//! Classification of `std::io::Error` by kind.

use std::io;

use resilience_core::{Classification, Classify, Delivery, ErrorClass};

#[test]
fn io_error_kinds_map_to_expected_classes() {
    use io::ErrorKind as Kind;

    let not_sent = Classification::transient_not_sent();
    let transient = Classification::transient();
    let permanent = Classification::permanent();
    let table = [
        (Kind::ConnectionRefused, not_sent),
        (Kind::ConnectionReset, transient),
        (Kind::ConnectionAborted, transient),
        (Kind::BrokenPipe, transient),
        (Kind::NotConnected, transient),
        (Kind::UnexpectedEof, transient),
        (Kind::TimedOut, transient),
        (Kind::WouldBlock, transient),
        (Kind::Interrupted, transient),
        (Kind::HostUnreachable, transient),
        (Kind::NetworkUnreachable, transient),
        (Kind::NetworkDown, transient),
        (Kind::AddrInUse, transient),
        (Kind::AddrNotAvailable, transient),
        (Kind::ResourceBusy, transient),
        (Kind::InvalidInput, permanent),
        (Kind::InvalidData, permanent),
        (Kind::PermissionDenied, permanent),
        (Kind::Unsupported, permanent),
        (Kind::NotFound, permanent),
        (Kind::AlreadyExists, permanent),
        (Kind::WriteZero, permanent),
        (Kind::OutOfMemory, permanent),
        (Kind::Other, permanent),
    ];

    for (kind, expected) in table {
        let error = io::Error::new(kind, "test");
        assert_eq!(error.classify(), expected, "{kind:?}");
    }
}

#[test]
fn io_error_kinds_outside_the_list_are_permanent() {
    use io::ErrorKind as Kind;

    for kind in [
        Kind::NotADirectory,
        Kind::IsADirectory,
        Kind::DirectoryNotEmpty,
        Kind::ReadOnlyFilesystem,
        Kind::StorageFull,
        Kind::FileTooLarge,
        Kind::Deadlock,
    ] {
        let classification = io::Error::from(kind).classify();
        assert_eq!(classification.class(), ErrorClass::Permanent, "{kind:?}");
        assert_eq!(classification.delivery(), Delivery::Unknown, "{kind:?}");
    }
}

#[test]
fn wrapped_custom_error_is_permanent() {
    let error = io::Error::other("certificate not trusted");
    assert!(!error.classify().is_transient());
}
