//! The model's units from the units games publish, each conversion written
//! once, so that every title converts alike.

/// km/h in a metre a second.
const KMH_PER_MPS: f32 = 3.6;
/// kPa in a pound-force a square inch.
const KPA_PER_PSI: f32 = 6.894_757;

/// m/s as km/h.
pub fn kmh_from_mps(mps: f32) -> f32 {
    mps * KMH_PER_MPS
}

/// psi as kPa.
pub fn kpa_from_psi(psi: f32) -> f32 {
    psi * KPA_PER_PSI
}

/// Seconds as whole milliseconds; `None` when not a finite time that fits.
pub fn ms_from_seconds(seconds: f32) -> Option<i64> {
    let ms = (f64::from(seconds) * 1000.0).round();
    (ms.is_finite() && ms.abs() < 1e15).then_some(ms as i64)
}

/// A float count (revolutions a minute) as a whole one; `None` when not a
/// finite number that fits.
pub fn whole(value: f32) -> Option<i32> {
    let rounded = value.round();
    (rounded.is_finite() && rounded.abs() <= i32::MAX as f32 / 2.0).then_some(rounded as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_give_the_model_units() {
        assert_eq!(kmh_from_mps(10.0), 36.0);
        assert!((kpa_from_psi(27.5) - 189.606).abs() < 1e-3);
        assert_eq!(ms_from_seconds(83.456), Some(83_456));
        assert_eq!(ms_from_seconds(f32::NAN), None);
        assert_eq!(ms_from_seconds(f32::MAX), None);
        assert_eq!(whole(7012.6), Some(7013));
        assert_eq!(whole(f32::INFINITY), None);
        assert_eq!(whole(-1e12), None);
    }
}
