//! Backend-agnostic resilience: classification, deadlines, retries, a retry budget and a circuit breaker.
