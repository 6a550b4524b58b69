//! A real `valkey-server` harness, a TCP fault proxy and the end-to-end fault suite.
