//! A fail-closed store of per-session security labels, in memory or in Valkey.
