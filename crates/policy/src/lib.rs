//! tandem-policy (placeholder)
