//! Validation of [`ValkeyConfig`] and construction of the `redis` client.

use std::net::IpAddr;
use std::path::Path;

use redis::{Client, IntoConnectionInfo, TlsCertificates};
use resilience_core::ConfigError;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use url::{Host, Url};

use crate::alarm::ALARM_TTL_SHORTER_THAN_SESSION;
use crate::valkey::config::{
    MAX_KEY_PREFIX_BYTES, MAX_REQUEST_DEADLINE_MS, MAX_RETRIES, MAX_TIMEOUT_MS, MAX_TTL_SECONDS,
    MIN_REQUEST_DEADLINE_MS, ValkeyConfig,
};

/// Checks every rule on `config` and builds the client it describes.
///
/// Messages name the field and the allowed values, and never contain the
/// endpoint's user info or the password.
pub(crate) fn validate(config: &ValkeyConfig) -> Result<Client, ConfigError> {
    let url = validate_endpoint(config)?;
    validate_credentials(config, &url)?;
    validate_limits(config)?;
    config.executor_config().validate()?;
    warn_if_ttl_shorter_than_session(config);
    build_client(config)
}

fn validate_endpoint(config: &ValkeyConfig) -> Result<Url, ConfigError> {
    if config.endpoint.trim().is_empty() {
        return Err(ConfigError::new(
            "endpoint",
            "is missing; set it to a URL such as redis://127.0.0.1:6379",
        ));
    }
    let url = Url::parse(&config.endpoint).map_err(|_| {
        ConfigError::new(
            "endpoint",
            "must be a URL such as redis://127.0.0.1:6379 or rediss://valkey.example:6380",
        )
    })?;
    let uses_tls = match url.scheme() {
        "redis" => false,
        "rediss" => true,
        other => {
            return Err(ConfigError::new(
                "endpoint",
                format!("scheme must be redis or rediss, got {other}"),
            ));
        }
    };
    let Some(host) = url.host() else {
        return Err(ConfigError::new("endpoint", "must name a host"));
    };
    if url.port() == Some(0) {
        return Err(ConfigError::new(
            "endpoint",
            "port must be between 1 and 65535, got 0",
        ));
    }
    if url.fragment().is_some() || url.query().is_some() {
        // redis-rs reads `#insecure` as "skip certificate verification".
        return Err(ConfigError::new(
            "endpoint",
            "must not have a query or a fragment such as #insecure",
        ));
    }
    if config.tls && !uses_tls {
        return Err(ConfigError::new(
            "tls",
            "is true but the endpoint uses redis://; use a rediss:// endpoint",
        ));
    }
    if uses_tls && !config.tls {
        return Err(ConfigError::new(
            "tls",
            "is false but the endpoint uses rediss://; set tls: true",
        ));
    }
    if !config.tls && !is_loopback(&host) {
        return Err(ConfigError::new(
            "tls",
            "is required for an endpoint that is not loopback; use rediss:// and tls: true",
        ));
    }
    if config.tls_ca_cert.is_some() && !config.tls {
        return Err(ConfigError::new("tls_ca_cert", "is set but tls is false"));
    }
    Ok(url)
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        // `redis` is not a special scheme to the URL standard, so an IPv4
        // address arrives as an opaque domain and is parsed here.
        Host::Domain(name) => match name.parse::<IpAddr>() {
            Ok(address) => address.is_loopback(),
            Err(_) => name.eq_ignore_ascii_case("localhost"),
        },
        Host::Ipv4(address) => IpAddr::V4(*address).is_loopback(),
        Host::Ipv6(address) => IpAddr::V6(*address).is_loopback(),
    }
}

fn validate_credentials(config: &ValkeyConfig, url: &Url) -> Result<(), ConfigError> {
    let url_has_credentials = !url.username().is_empty() || url.password().is_some();
    let fields_have_credentials = config.username.is_some() || config.password.is_some();
    if url_has_credentials && fields_have_credentials {
        return Err(ConfigError::new(
            "endpoint",
            "contains credentials while username or password is also set; keep one of them",
        ));
    }
    // redis-rs 1.8 sends AUTH only when a password is present, so a user
    // name alone would connect as the `default` user.
    if !url.username().is_empty() && url.password().is_none_or(str::is_empty) {
        return Err(ConfigError::new(
            "endpoint",
            "names a user without a password; use redis://USER:PASSWORD@HOST or the username and password fields",
        ));
    }
    if config.username.is_some() && config.password.is_none() {
        return Err(ConfigError::new(
            "password",
            "is required when username is set",
        ));
    }
    if config.username.as_deref() == Some("") {
        return Err(ConfigError::new("username", "must not be empty"));
    }
    Ok(())
}

fn validate_limits(config: &ValkeyConfig) -> Result<(), ConfigError> {
    let prefix = &config.key_prefix;
    if prefix.is_empty()
        || prefix.len() > MAX_KEY_PREFIX_BYTES
        || prefix.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ConfigError::new(
            "key_prefix",
            format!(
                "must be 1 to {MAX_KEY_PREFIX_BYTES} bytes without whitespace or control characters"
            ),
        ));
    }
    check_range("ttl_seconds", config.ttl_seconds, 1, MAX_TTL_SECONDS)?;
    check_range(
        "max_session_lifetime_seconds",
        config.max_session_lifetime_seconds,
        1,
        MAX_TTL_SECONDS,
    )?;
    check_range(
        "connect_timeout_ms",
        Some(config.connect_timeout_ms),
        1,
        MAX_TIMEOUT_MS,
    )?;
    check_range(
        "command_timeout_ms",
        Some(config.command_timeout_ms),
        1,
        MAX_TIMEOUT_MS,
    )?;
    check_range(
        "request_deadline_ms",
        Some(config.request_deadline_ms),
        MIN_REQUEST_DEADLINE_MS,
        MAX_REQUEST_DEADLINE_MS,
    )?;
    if config.command_timeout_ms > config.request_deadline_ms {
        return Err(ConfigError::new(
            "command_timeout_ms",
            format!(
                "must be at most request_deadline_ms ({}), got {}",
                config.request_deadline_ms, config.command_timeout_ms
            ),
        ));
    }
    if config.max_retries > MAX_RETRIES {
        return Err(ConfigError::new(
            "max_retries",
            format!(
                "must be between 0 and {MAX_RETRIES}, got {}",
                config.max_retries
            ),
        ));
    }
    Ok(())
}

fn check_range(
    field: &'static str,
    value: Option<u64>,
    min: u64,
    max: u64,
) -> Result<(), ConfigError> {
    match value {
        Some(value) if value < min || value > max => Err(ConfigError::new(
            field,
            format!("must be between {min} and {max}, got {value}"),
        )),
        _ => Ok(()),
    }
}

fn warn_if_ttl_shorter_than_session(config: &ValkeyConfig) {
    if let (Some(ttl), Some(lifetime)) = (config.ttl_seconds, config.max_session_lifetime_seconds)
        && ttl < lifetime
    {
        tracing::warn!(
            alarm = ALARM_TTL_SHORTER_THAN_SESSION,
            ttl_seconds = ttl,
            max_session_lifetime_seconds = lifetime,
            "session labels can expire while their session is still valid and idle"
        );
    }
}

fn build_client(config: &ValkeyConfig) -> Result<Client, ConfigError> {
    let info = config
        .endpoint
        .as_str()
        .into_connection_info()
        .map_err(|_| ConfigError::new("endpoint", "is not accepted by the redis client"))?;
    let mut settings = info.redis_settings().clone();
    if let Some(username) = &config.username {
        settings = settings.set_username(username);
    }
    if let Some(password) = &config.password {
        settings = settings.set_password(password);
    }
    let info = info.set_redis_settings(settings);
    if !config.tls {
        return Client::open(info)
            .map_err(|_| ConfigError::new("endpoint", "is not accepted by the redis client"));
    }
    install_ring_provider();
    let root_cert = match &config.tls_ca_cert {
        Some(path) => Some(read_ca_cert(path)?),
        None => None,
    };
    let certificates = TlsCertificates {
        client_tls: None,
        root_cert,
    };
    Client::build_with_tls(info, certificates)
        .map_err(|_| ConfigError::new("tls_ca_cert", "does not contain a usable PEM certificate"))
}

/// Reads the CA file and checks that it contains a PEM certificate.
///
/// redis-rs 1.8 accepts a file without any `CERTIFICATE` section and trusts
/// no root at all, so every handshake would fail later with an unknown issuer.
fn read_ca_cert(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let pem = std::fs::read(path).map_err(|error| {
        ConfigError::new(
            "tls_ca_cert",
            format!("cannot be read from {}: {error}", path.display()),
        )
    })?;
    if CertificateDer::pem_slice_iter(&pem).next().is_none() {
        return Err(ConfigError::new(
            "tls_ca_cert",
            format!(
                "contains no PEM certificate (-----BEGIN CERTIFICATE-----): {}",
                path.display()
            ),
        ));
    }
    Ok(pem)
}

/// Makes rustls's ring provider the process default, unless the application
/// already installed one.
///
/// redis-rs builds its TLS settings from the process default, and rustls can
/// pick one by itself only when exactly one provider is compiled in.
fn install_ring_provider() {
    // An error means that a provider is already installed, which is the
    // application's choice and stays in place.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
