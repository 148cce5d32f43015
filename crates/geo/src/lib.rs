//! tandem-geo (placeholder)
