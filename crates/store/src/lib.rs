//! tandem-store (placeholder)
