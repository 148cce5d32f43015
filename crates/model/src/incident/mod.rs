//! Tandem's incident property extension (placeholder until the incident model lands).
