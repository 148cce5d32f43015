//! placeholder
use serde::Serialize;
use crate::{Gazetteer, Place};
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision { Town, NearTown, Admin1, Region }
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution { pub place: Option<Place>, pub admin1: Option<String>, pub area: Option<String>, pub lat: f64, pub lon: f64, pub precision: Precision, pub matched: String }
pub(crate) fn resolve(_g: &Gazetteer, _t: &str) -> Option<Resolution> { None }
