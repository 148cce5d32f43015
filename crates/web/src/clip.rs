//! Plane geometry for the approximate governorates: clipping a polygon by a convex one
//! (Sutherland-Hodgman), point in polygon, and areas. Why here: a governorate's outline is the
//! convex hull of its places (convex), the country outline is not, and Sutherland-Hodgman clips
//! any subject by a *convex* clipper, so the country outline clipped by the hull is exactly
//! country ∩ hull (where that intersection falls apart in pieces, the pieces are joined by
//! zero-width runs along the hull's edges, which draw as nothing and add no area). Points are
//! `(x, y)` = `(lon, lat)`; pure functions.

/// Which side of the directed line `a → b` the point `p` is on: positive on the left.
fn side(a: (f64, f64), b: (f64, f64), p: (f64, f64)) -> f64 {
    (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0)
}

/// Where the segment `p → q` crosses the line through `a → b` (they are known to cross).
fn crossing(p: (f64, f64), q: (f64, f64), a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let (sp, sq) = (side(a, b, p), side(a, b, q));
    let t = sp / (sp - sq);
    (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1))
}

/// `subject` (any simple ring, not closed) clipped by `clipper` (a convex ring, counter-clockwise,
/// not closed): the ring of their intersection, empty when they do not overlap.
pub fn clip_by_convex(subject: &[(f64, f64)], clipper: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = subject.to_vec();
    for i in 0..clipper.len() {
        if out.is_empty() {
            break;
        }
        let (a, b) = (clipper[i], clipper[(i + 1) % clipper.len()]);
        let input = std::mem::take(&mut out);
        for j in 0..input.len() {
            let (p, q) = (input[j], input[(j + 1) % input.len()]);
            let (p_in, q_in) = (side(a, b, p) >= 0.0, side(a, b, q) >= 0.0);
            if p_in {
                out.push(p);
                if !q_in {
                    out.push(crossing(p, q, a, b));
                }
            } else if q_in {
                out.push(crossing(p, q, a, b));
            }
        }
    }
    out.dedup_by(|x, y| (x.0 - y.0).abs() < 1e-12 && (x.1 - y.1).abs() < 1e-12);
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    if out.len() < 3 || signed_area(&out).abs() < 1e-12 { Vec::new() } else { out }
}

/// Twice the signed area of a ring in its own units (positive when counter-clockwise).
pub fn signed_area(ring: &[(f64, f64)]) -> f64 {
    (0..ring.len())
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

/// Whether `p` lies inside `ring` or within `eps` of its boundary (even-odd rule).
pub fn inside_or_on(ring: &[(f64, f64)], p: (f64, f64), eps: f64) -> bool {
    let mut inside = false;
    for i in 0..ring.len() {
        let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
        if distance_to_segment(p, a, b) <= eps {
            return true;
        }
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < a.0 + (p.1 - a.1) / (b.1 - a.1) * (b.0 - a.0) {
            inside = !inside;
        }
    }
    inside
}

fn distance_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0) };
    ((p.0 - a.0 - t * dx).powi(2) + (p.1 - a.1 - t * dy).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: [(f64, f64); 4] = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)];

    #[test]
    fn a_clipper_reaching_outside_the_subject_is_cut_at_its_border() {
        // A triangle poking out of the right side of the square.
        let tri = [(6.0, 2.0), (14.0, 5.0), (6.0, 8.0)];
        let out = clip_by_convex(&SQUARE, &tri);
        assert!(out.iter().all(|&p| inside_or_on(&SQUARE, p, 1e-9)), "{out:?}");
        assert!(out.iter().all(|&p| inside_or_on(&tri, p, 1e-9)), "{out:?}");
        // Cut along x = 10, where the triangle spans y 3.5 to 6.5.
        let on_border: Vec<f64> = out.iter().filter(|p| (p.0 - 10.0).abs() < 1e-9).map(|p| p.1).collect();
        assert_eq!(on_border.len(), 2, "{out:?}");
        assert!((on_border.iter().cloned().fold(f64::MIN, f64::max) - 6.5).abs() < 1e-9);
        // Area: the trapezoid from x 6 to 10 (heights 6 and 3): 18.
        assert!((signed_area(&out).abs() / 2.0 - 18.0).abs() < 1e-9, "{}", signed_area(&out));
        assert!(signed_area(&out).abs() < signed_area(&tri).abs());
    }

    #[test]
    fn a_non_convex_subject_clipped_by_a_convex_hull_is_their_intersection() {
        // An L-shaped "country" and a square hull over its corner notch: the notch stays out.
        let l = [(0.0, 0.0), (10.0, 0.0), (10.0, 4.0), (4.0, 4.0), (4.0, 10.0), (0.0, 10.0)];
        let hull = [(2.0, 2.0), (8.0, 2.0), (8.0, 8.0), (2.0, 8.0)];
        let out = clip_by_convex(&l, &hull);
        // (8-2)x(4-2) + (4-2)x(8-4) = 12 + 8 = 20.
        assert!((signed_area(&out).abs() / 2.0 - 20.0).abs() < 1e-9, "{out:?}");
        assert!(!inside_or_on(&out, (6.0, 6.0), 1e-9), "the notch is outside the country");
        assert!(out.iter().all(|&p| inside_or_on(&l, p, 1e-9)));
    }

    #[test]
    fn inside_the_clipper_nothing_changes_and_apart_nothing_is_left() {
        let big = [(-5.0, -5.0), (15.0, -5.0), (15.0, 15.0), (-5.0, 15.0)];
        assert_eq!(clip_by_convex(&SQUARE, &big), SQUARE.to_vec());
        let far = [(20.0, 20.0), (30.0, 20.0), (25.0, 30.0)];
        assert!(clip_by_convex(&SQUARE, &far).is_empty());
    }
}
