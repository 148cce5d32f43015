//! tandem-demo (placeholder)
