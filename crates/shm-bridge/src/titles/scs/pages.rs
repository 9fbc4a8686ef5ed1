//! The `SCSTelemetry` page's layout and its fields as shm-bridge shows
//! them; each field's offset is written once, in the layout struct.
//!
//! From the scs-sdk-plugin's `scs-telemetry/inc/scs-telemetry-common.hpp`
//! (RenCloud/scs-sdk-plugin, `PLUGIN_REVID` 10 as released since 2020: its
//! timestamps are 64-bit at 8, 16 and 24), the plugin most tools read.
//! The struct is laid out in zones at fixed offsets, natural alignment; the
//! offsets below were computed from that header with MinGW and are
//! asserted. Strings are 8-bit, NUL-terminated inside fixed arrays.

use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::core::narrow::{from_narrow, to_fixed_narrow};

/// `stringsize`.
const STRING: usize = 64;

/// `scsTelemetryMap_t` from its start through `config_s.citySrc`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(super) struct TelemetryPage {
    sdk_active: u8,
    _place_holder: [u8; 3],
    paused: u8,
    _place_holder2: [u8; 3],
    time: u64,
    simulated_time: u64,
    render_time: u64,
    _buffer: [u8; 8],
    /// `scs_values`.
    telemetry_plugin_revision: u32,
    version_major: u32,
    version_minor: u32,
    game: u32,
    telemetry_version_game_major: u32,
    telemetry_version_game_minor: u32,
    /// `common_ui.time_abs`: in-game minutes.
    time_abs: u32,
    /// `config_ui`.
    gears: u32,
    gears_reverse: u32,
    /// `retarderStepCount` to `plannedDistanceKm`, `truck_ui`,
    /// `gameplay_ui`, the zone's buffer, `common_i`.
    _to_gear: [u8; 428],
    /// `truck_i`.
    gear: i32,
    gear_dashboard: i32,
    /// `hshifterResulting`, `gameplay_i`, the zone's buffer, `common_f`.
    _to_fuel_capacity: [u8; 192],
    /// `config_f`.
    fuel_capacity: f32,
    /// `fuelWarningFactor` to `batteryVoltageWarning`.
    _warnings: [u8; 32],
    engine_rpm_max: f32,
    /// `gearDifferential` to `unitMass`.
    _drivetrain: [u8; 204],
    /// `truck_f`.
    speed: f32,
    engine_rpm: f32,
    user_steer: f32,
    user_throttle: f32,
    user_brake: f32,
    user_clutch: f32,
    game_steer: f32,
    game_throttle: f32,
    game_brake: f32,
    game_clutch: f32,
    cruise_control_speed: f32,
    /// `airPressure`, `brakeTemperature`.
    _brakes: [u8; 8],
    fuel: f32,
    fuel_avg_consumption: f32,
    fuel_range: f32,
    /// `adblue` to `wearWheels`.
    _consumables_and_wear: [u8; 44],
    truck_odometer: f32,
    /// `routeDistance`, `routeTime`.
    _route: [u8; 8],
    speed_limit: f32,
    /// The wheels, the other zones up to the strings.
    _to_strings: [u8; 1228],
    /// `config_s`.
    truck_brand_id: [u8; STRING],
    truck_brand: [u8; STRING],
    truck_id: [u8; STRING],
    truck_name: [u8; STRING],
    cargo_id: [u8; STRING],
    cargo: [u8; STRING],
    city_dst_id: [u8; STRING],
    city_dst: [u8; STRING],
    comp_dst_id: [u8; STRING],
    comp_dst: [u8; STRING],
    city_src_id: [u8; STRING],
    city_src: [u8; STRING],
    /// The start of `compSrcId`, to the 8-byte alignment of the timestamps.
    _to_alignment: [u8; 4],
}

// The header's offsets, checked where the compiler can see them.
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(TelemetryPage, paused) == 4);
    assert!(offset_of!(TelemetryPage, time) == 8);
    assert!(offset_of!(TelemetryPage, render_time) == 24);
    assert!(offset_of!(TelemetryPage, telemetry_plugin_revision) == 40);
    assert!(offset_of!(TelemetryPage, game) == 52);
    assert!(offset_of!(TelemetryPage, time_abs) == 64);
    assert!(offset_of!(TelemetryPage, gears) == 68);
    assert!(offset_of!(TelemetryPage, gear) == 504);
    assert!(offset_of!(TelemetryPage, gear_dashboard) == 508);
    assert!(offset_of!(TelemetryPage, fuel_capacity) == 704);
    assert!(offset_of!(TelemetryPage, engine_rpm_max) == 740);
    assert!(offset_of!(TelemetryPage, speed) == 948);
    assert!(offset_of!(TelemetryPage, user_throttle) == 960);
    assert!(offset_of!(TelemetryPage, game_clutch) == 984);
    assert!(offset_of!(TelemetryPage, fuel) == 1000);
    assert!(offset_of!(TelemetryPage, truck_odometer) == 1056);
    assert!(offset_of!(TelemetryPage, speed_limit) == 1068);
    assert!(offset_of!(TelemetryPage, truck_brand_id) == 2300);
    assert!(offset_of!(TelemetryPage, truck_name) == 2492);
    assert!(offset_of!(TelemetryPage, cargo) == 2620);
    assert!(offset_of!(TelemetryPage, city_dst) == 2748);
    assert!(offset_of!(TelemetryPage, city_src) == 3004);
    assert!(size_of::<TelemetryPage>() == 3072);
};

/// Bytes the decoder reads.
pub const NEEDED: usize = size_of::<TelemetryPage>();

/// The page, the fields shown (units as the plugin gives them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Telemetry {
    /// `sdkActive`: the plugin is loaded and writing (1), or was unloaded (0).
    pub sdk_active: u8,
    /// `paused`: the game is paused (1).
    pub paused: u8,
    /// The plugin's timestamp, µs of simulation that ran unpaused.
    pub time: u64,
    /// Simulation time, µs.
    pub simulated_time: u64,
    /// Render time, µs.
    pub render_time: u64,
    /// `PLUGIN_REVID` of the plugin that wrote the page.
    pub telemetry_plugin_revision: u32,
    /// The game's version.
    pub version_major: u32,
    /// The game's version.
    pub version_minor: u32,
    /// 1 Euro Truck Simulator 2, 2 American Truck Simulator, 0 unknown.
    pub game: u32,
    /// In-game time, minutes.
    pub time_abs: u32,
    /// Forward gears.
    pub gears: u32,
    /// Reverse gears.
    pub gears_reverse: u32,
    /// Gear engaged (reverse negative).
    pub gear: i32,
    /// Gear on the dashboard (reverse negative).
    pub gear_dashboard: i32,
    /// Tank, litres.
    pub fuel_capacity: f32,
    /// Rev limit, rpm.
    pub engine_rpm_max: f32,
    /// Speedometer, m/s (negative in reverse).
    pub speed: f32,
    /// Engine, rpm.
    pub engine_rpm: f32,
    /// Steering from input, -1 to 1, counterclockwise (left) positive.
    pub user_steer: f32,
    /// Throttle from input, 0 to 1.
    pub user_throttle: f32,
    /// Brake from input, 0 to 1.
    pub user_brake: f32,
    /// Clutch from input, 0 to 1.
    pub user_clutch: f32,
    /// Steering the truck gets.
    pub game_steer: f32,
    /// Throttle the truck gets (cruise control's included).
    pub game_throttle: f32,
    /// Brake the truck gets.
    pub game_brake: f32,
    /// Clutch the truck gets.
    pub game_clutch: f32,
    /// Cruise control, m/s (0 off).
    pub cruise_control_speed: f32,
    /// Fuel, litres.
    pub fuel: f32,
    /// Average use, litres a km.
    pub fuel_avg_consumption: f32,
    /// Range, km.
    pub fuel_range: f32,
    /// Odometer, km.
    pub truck_odometer: f32,
    /// Speed limit, m/s.
    pub speed_limit: f32,
    /// The truck's brand.
    pub truck_brand: String,
    /// The truck's model.
    pub truck_name: String,
    /// The cargo.
    pub cargo: String,
    /// Where the job goes.
    pub city_dst: String,
    /// Where it came from.
    pub city_src: String,
}

impl Telemetry {
    /// Decodes a copy of the page; `None` if it is too short.
    pub fn decode(b: &[u8]) -> Option<Telemetry> {
        let (t, _) = TelemetryPage::read_from_prefix(b).ok()?;
        Some(Telemetry {
            sdk_active: t.sdk_active,
            paused: t.paused,
            time: t.time,
            simulated_time: t.simulated_time,
            render_time: t.render_time,
            telemetry_plugin_revision: t.telemetry_plugin_revision,
            version_major: t.version_major,
            version_minor: t.version_minor,
            game: t.game,
            time_abs: t.time_abs,
            gears: t.gears,
            gears_reverse: t.gears_reverse,
            gear: t.gear,
            gear_dashboard: t.gear_dashboard,
            fuel_capacity: t.fuel_capacity,
            engine_rpm_max: t.engine_rpm_max,
            speed: t.speed,
            engine_rpm: t.engine_rpm,
            user_steer: t.user_steer,
            user_throttle: t.user_throttle,
            user_brake: t.user_brake,
            user_clutch: t.user_clutch,
            game_steer: t.game_steer,
            game_throttle: t.game_throttle,
            game_brake: t.game_brake,
            game_clutch: t.game_clutch,
            cruise_control_speed: t.cruise_control_speed,
            fuel: t.fuel,
            fuel_avg_consumption: t.fuel_avg_consumption,
            fuel_range: t.fuel_range,
            truck_odometer: t.truck_odometer,
            speed_limit: t.speed_limit,
            truck_brand: from_narrow(&t.truck_brand),
            truck_name: from_narrow(&t.truck_name),
            cargo: from_narrow(&t.cargo),
            city_dst: from_narrow(&t.city_dst),
            city_src: from_narrow(&t.city_src),
        })
    }

    /// Encodes into a page buffer (at least [`NEEDED`] bytes).
    pub fn encode(&self, b: &mut [u8]) {
        let id = |s: &str| to_fixed_narrow(&s.to_lowercase().replace(' ', "_"));
        let page = TelemetryPage {
            sdk_active: self.sdk_active,
            _place_holder: [0; 3],
            paused: self.paused,
            _place_holder2: [0; 3],
            time: self.time,
            simulated_time: self.simulated_time,
            render_time: self.render_time,
            _buffer: [0; 8],
            telemetry_plugin_revision: self.telemetry_plugin_revision,
            version_major: self.version_major,
            version_minor: self.version_minor,
            game: self.game,
            telemetry_version_game_major: 1,
            telemetry_version_game_minor: 18,
            time_abs: self.time_abs,
            gears: self.gears,
            gears_reverse: self.gears_reverse,
            _to_gear: [0; 428],
            gear: self.gear,
            gear_dashboard: self.gear_dashboard,
            _to_fuel_capacity: [0; 192],
            fuel_capacity: self.fuel_capacity,
            _warnings: [0; 32],
            engine_rpm_max: self.engine_rpm_max,
            _drivetrain: [0; 204],
            speed: self.speed,
            engine_rpm: self.engine_rpm,
            user_steer: self.user_steer,
            user_throttle: self.user_throttle,
            user_brake: self.user_brake,
            user_clutch: self.user_clutch,
            game_steer: self.game_steer,
            game_throttle: self.game_throttle,
            game_brake: self.game_brake,
            game_clutch: self.game_clutch,
            cruise_control_speed: self.cruise_control_speed,
            _brakes: [0; 8],
            fuel: self.fuel,
            fuel_avg_consumption: self.fuel_avg_consumption,
            fuel_range: self.fuel_range,
            _consumables_and_wear: [0; 44],
            truck_odometer: self.truck_odometer,
            _route: [0; 8],
            speed_limit: self.speed_limit,
            _to_strings: [0; 1228],
            truck_brand_id: id(&self.truck_brand),
            truck_brand: to_fixed_narrow(&self.truck_brand),
            truck_id: id(&self.truck_name),
            truck_name: to_fixed_narrow(&self.truck_name),
            cargo_id: id(&self.cargo),
            cargo: to_fixed_narrow(&self.cargo),
            city_dst_id: id(&self.city_dst),
            city_dst: to_fixed_narrow(&self.city_dst),
            comp_dst_id: [0; STRING],
            comp_dst: [0; STRING],
            city_src_id: id(&self.city_src),
            city_src: to_fixed_narrow(&self.city_src),
            _to_alignment: [0; 4],
        };
        let bytes = page.as_bytes();
        b[..bytes.len()].copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::titles::scs::synthetic;

    #[test]
    fn the_page_round_trips_at_the_plugins_offsets() {
        let mut page = vec![0u8; 32768];
        let t = synthetic::telemetry(1234);
        t.encode(&mut page);
        assert_eq!(Telemetry::decode(&page), Some(t.clone()));
        assert_eq!(page[0], 1, "sdkActive @0");
        assert_eq!(&page[8..16], &1234u64.to_le_bytes(), "time @8");
        assert_eq!(&page[40..44], &10u32.to_le_bytes(), "telemetry_plugin_revision @40");
        assert_eq!(&page[948..952], &t.speed.to_le_bytes(), "truck_f.speed @948");
        assert_eq!(&page[2364..2370], b"Scania", "config_s.truckBrand @2364");
    }
}
