use super::*;
use crate::model::Telemetry;

fn decode(page: &[u8]) -> Decoded {
    let mut copies = Copies::default();
    copies.push("irsdk", page);
    FAMILY.decode(&copies)
}

fn note(d: &Decoded) -> String {
    d.notes
        .iter()
        .map(|(l, t)| format!("{l}: {t}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Bytes from a fixed seed.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

fn put(page: &mut [u8], at: usize, v: i32) {
    page[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn garbage_and_short_pages_give_nothing_and_say_why() {
    let pages = [
        vec![0u8; MAP_LEN],
        vec![0xffu8; MAP_LEN],
        noise(MAP_LEN, 7),
        noise(size_of::<Header>(), 9),
        vec![0u8; size_of::<Header>()],
        vec![0u8; size_of::<Header>() - 1],
        Vec::new(),
    ];
    for page in &pages {
        let d = decode(page);
        assert_eq!(d.telemetry, Telemetry::default(), "{}", note(&d));
        if !page.is_empty() {
            assert!(!d.notes.is_empty());
        }
    }
    assert!(note(&decode(&pages[0])).contains("no iRacing header yet"));
    assert!(note(&decode(&pages[1])).contains("version -1"));
    assert!(note(&decode(&pages[5])).contains("shorter than its header"));
}

#[test]
fn a_header_pointing_outside_the_page_is_refused() {
    let good = synthetic::page(7);
    let outside = |change: &dyn Fn(&mut Vec<u8>)| {
        let mut page = good.clone();
        change(&mut page);
        let d = decode(&page);
        assert_eq!(d.telemetry.speed_kmh, None, "{}", note(&d));
        assert!(note(&d).contains("points outside the page"), "{}", note(&d));
    };
    outside(&|p| put(p, 24, i32::MAX)); // numVars huge
    outside(&|p| put(p, 24, -1));
    outside(&|p| put(p, 28, 1 << 30)); // varHeaderOffset
    outside(&|p| put(p, 32, 9)); // numBuf
    outside(&|p| put(p, 36, i32::MAX)); // bufLen
    outside(&|p| put(p, 48 + 16 + 4, -5)); // the newest buffer's offset (tick 7: buffer 1)
    outside(&|p| {
        let newest = i32::from_le_bytes(p[52..56].try_into().unwrap()) as usize;
        p.truncate(newest + 10);
    });
    // A session info outside the page: the variables still read, the
    // session's values not.
    let mut page = good.clone();
    put(&mut page, 20, i32::MAX);
    let d = decode(&page);
    assert!(d.telemetry.speed_kmh.is_some());
    assert_eq!((&d.telemetry.car, &d.telemetry.track), (&None, &None));
    assert!(note(&d).contains("session info of"), "{}", note(&d));
    // A variable header whose offset is past the buffer is no variable.
    let mut page = good.clone();
    let vars_at = i32::from_le_bytes(page[28..32].try_into().unwrap()) as usize;
    for i in 0..64 {
        let at = vars_at + i * size_of::<VarHeader>();
        if pages::name(&page[at + 16..at + 48]) == b"Speed" {
            put(&mut page, at + 4, 1 << 20);
        }
    }
    let d = decode(&page);
    assert_eq!(d.telemetry.speed_kmh, None);
    assert!(d.telemetry.rpm.is_some());
}

#[test]
fn a_sim_not_running_or_not_yet_writing_is_said_so() {
    let mut page = synthetic::page(7);
    put(&mut page, 4, 0);
    let d = decode(&page);
    assert_eq!(
        d.telemetry,
        Telemetry {
            status: Some(Status::Menu),
            ..Telemetry::default()
        }
    );
    assert!(note(&d).contains("not connected"));
    let mut page = synthetic::page(7);
    for i in 0..3 {
        put(&mut page, 48 + 16 * i, -1);
    }
    assert!(note(&decode(&page)).contains("no frame written yet"));
    let mut page = synthetic::page(7);
    put(&mut page, 0, 3);
    assert!(note(&decode(&page)).contains("version 3"));
}

#[test]
fn session_text_that_is_not_yaml_leaves_the_variables() {
    let mut page = synthetic::page(7);
    let at = size_of::<Header>();
    let bad = b"WeekendInfo:\n TrackDisplayName: [Spa\n\0";
    page[at..at + bad.len()].copy_from_slice(bad);
    let d = decode(&page);
    assert_eq!(d.telemetry.track, None);
    assert_eq!(d.telemetry.car, None);
    assert!(d.telemetry.speed_kmh.is_some());
    assert!(note(&d).contains("not valid YAML"), "{}", note(&d));
}

#[test]
fn the_newest_buffer_is_read_and_units_are_the_models() {
    let page = synthetic::page(6001);
    let d = decode(&page);
    let t = &d.telemetry;
    assert_eq!(t.update, Some(6001));
    assert_eq!(t.lap, Some(2));
    assert_eq!(t.last_lap_ms, Some(138_412));
    assert_eq!(t.cars, Some(24));
    assert_eq!(t.clutch, Some(0.0), "the pedal is up when iRacing says engaged");
    assert!(t.steering.unwrap() > 0.0, "iRacing's negative angle is to the right");
    assert_eq!(t.tyre_pressures_kpa, None, "live telemetry has no tyre pressures");
    assert_eq!(d.pages[0].1["tick"], 6001);
    assert_eq!(d.pages[0].1["vars"]["Gear"], 1);
    // An older buffer holds an older tick.
    let vars = FAMILY.scenario().unwrap();
    vars.check_page("irsdk", &d.pages[0].1).unwrap();
}

#[test]
fn flags_are_the_models() {
    assert_eq!(flags(0x0004_0004), [Flag::Green]);
    assert_eq!(flags(0x4000 | 0x0001_0000), [Flag::Yellow, Flag::Black]);
    assert_eq!(flags(0x0001 | 0x0002 | 0x0010 | 0x0008_0000), [
        Flag::White,
        Flag::Checkered,
        Flag::Red,
        Flag::Penalty
    ]);
    assert_eq!(flags(0x1000_0000 | 0x0004_0000), []);
    assert_eq!(session_kind("Lone Qualify"), "qualifying");
    assert_eq!(session_kind("Offline Testing"), "offline testing");
}
