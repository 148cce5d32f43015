//! tandem-taxii (placeholder)
