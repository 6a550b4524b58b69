//! Serde support for [`Duration`] fields in configuration files.
//!
//! Use it as `#[serde(with = "resilience_core::serde_duration")]`. It reads
//! either an integer number of milliseconds or a human-readable string such
//! as `"250ms"`, `"1s"` or `"1m 30s"` (the syntax of the `humantime` crate),
//! and writes the human-readable string. The [`option`] submodule does the
//! same for `Option<Duration>`.
//!
//! ```
//! use std::time::Duration;
//!
//! #[derive(serde::Deserialize)]
//! struct Timeouts {
//!     #[serde(with = "resilience_core::serde_duration")]
//!     connect: Duration,
//! }
//!
//! let text: Timeouts = serde_json::from_str(r#"{ "connect": "1m 30s" }"#).unwrap();
//! assert_eq!(text.connect, Duration::from_secs(90));
//! let millis: Timeouts = serde_json::from_str(r#"{ "connect": 250 }"#).unwrap();
//! assert_eq!(millis.connect, Duration::from_millis(250));
//! ```

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Serializes `duration` as a human-readable string such as `"1m 30s"`.
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

/// Deserializes a duration from integer milliseconds or a human-readable string.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(DurationVisitor)
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a duration as integer milliseconds or a string such as \"250ms\"")
    }

    fn visit_u64<E: de::Error>(self, millis: u64) -> Result<Duration, E> {
        Ok(Duration::from_millis(millis))
    }

    fn visit_i64<E: de::Error>(self, millis: i64) -> Result<Duration, E> {
        u64::try_from(millis)
            .map(Duration::from_millis)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(millis), &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        humantime::parse_duration(text)
            .map_err(|error| E::custom(format_args!("invalid duration {text:?}: {error}")))
    }
}

/// The same encoding for `Option<Duration>`: `null` or a missing value is `None`.
///
/// A missing field needs `#[serde(default)]` as well.
pub mod option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes `Some` as a human-readable string and `None` as none.
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => serializer.collect_str(&humantime::format_duration(*duration)),
            None => serializer.serialize_none(),
        }
    }

    /// Deserializes `None` from null, or a duration as [`super::deserialize`] does.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super")] Duration);

        let wrapped = Option::<Wrapped>::deserialize(deserializer)?;
        Ok(wrapped.map(|Wrapped(duration)| duration))
    }
}
