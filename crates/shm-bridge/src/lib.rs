//! shm-bridge: the parts both sides share, and each side's program.
//!
//! The same program is built twice: for Windows it is the bridge exe that
//! runs inside a Wine/Proton prefix ([`win`]); for Linux it is the
//! companion that launches, lists, watches and cleans up ([`linux`]). What
//! both decide alike is in [`core`], both command lines in [`cli`], what
//! is known of each game in [`titles`], and the one place allowed to call
//! the OS unsafely is [`sys`].
#![deny(unsafe_code)]

pub mod cli;
pub mod core;
#[cfg(unix)]
pub mod linux;
pub mod model;
pub mod scenario;
pub mod sys;
pub mod titles;
#[cfg(windows)]
pub mod win;

/// Entry points for the fuzz targets (`fuzz/`): the command lines, and
/// what is computed from the sizes they give.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use std::sync::OnceLock;

    use clap::Parser;

    use crate::cli::maps::MapArgs;
    use crate::core::plan;
    use crate::core::presets::Presets;

    /// Parses `args` as the bridge exe's command line, and sizes what it names.
    pub fn exe_cli(args: &[String]) {
        if let Ok(cli) = crate::cli::exe::Cli::try_parse_from(args) {
            plan_sizes(&cli.maps);
        }
    }

    /// Parses `args` as the Linux companion's command line, and sizes what
    /// it names.
    pub fn linux_cli(args: &[String]) {
        use crate::cli::companion::{Cli, Command};
        if let Ok(cli) = Cli::try_parse_from(args) {
            match &cli.command {
                Command::Launch(a) => plan_sizes(&a.maps),
                Command::Watch(a) => plan_sizes(&a.maps),
                Command::Record(a) => plan_sizes(&a.maps),
                Command::Clean(a) => plan_sizes(&a.maps),
                _ => {}
            }
        }
    }

    /// Sizes the mappings `maps` names as the exe and `launch` do: with no
    /// file at their places, and with files one byte shorter (and longer)
    /// than asked, each size summed with the others.
    pub fn plan_sizes(maps: &MapArgs) {
        static BUILTIN: OnceLock<Presets> = OnceLock::new();
        let presets = BUILTIN.get_or_init(Presets::builtin);
        let Ok(Some(specs)) = maps.resolve(presets) else {
            return;
        };
        for existing in [None, Some(-1i8), Some(1)] {
            let planned: Vec<(u64, Option<u64>)> = specs
                .iter()
                .filter_map(|spec| {
                    let len = existing.and_then(|d| {
                        let size = spec.size.unwrap_or(1);
                        size.checked_add_signed(i64::from(d))
                    });
                    plan::size_of(spec, len, "fuzz")
                        .ok()
                        .map(|size| (size, len))
                })
                .collect();
            if let Ok(needed) = plan::bytes_needed(planned.iter().copied()) {
                // A sum that wrapped would be less than one of its parts.
                for &(size, len) in &planned {
                    assert!(
                        needed >= size.saturating_sub(len.unwrap_or(0)),
                        "{planned:?}"
                    );
                }
                let _ = plan::check_room(needed, u64::MAX, "fuzz");
            }
        }
    }

    /// Decodes `data` as the pages of one title family (its first byte
    /// picks the family; the rest is cut into one piece per page, each made
    /// as long as the family reads at least, as the reader guarantees), and
    /// writes the model and the pages as JSON.
    pub fn decode_pages(data: &[u8]) {
        use crate::titles::{Copies, FAMILIES};
        let Some((&pick, rest)) = data.split_first() else {
            return;
        };
        let family = FAMILIES[usize::from(pick) % FAMILIES.len()];
        static BUILTIN: OnceLock<Presets> = OnceLock::new();
        let presets = BUILTIN.get_or_init(Presets::builtin);
        let mut pages = Vec::new();
        for preset in presets.games() {
            let Ok(specs) = preset.specs() else { continue };
            for spec in specs {
                if let Some(page) = family.page(spec.file_name())
                    && !pages
                        .iter()
                        .any(|p: &crate::titles::Page| p.label == page.label)
                {
                    pages.push(page);
                }
            }
        }
        if pages.is_empty() {
            return;
        }
        let piece = rest.len().div_ceil(pages.len()).max(1);
        let bytes: Vec<Vec<u8>> = pages
            .iter()
            .zip(rest.chunks(piece).chain(std::iter::repeat(&[][..])))
            .map(|(page, part)| {
                let mut b = part[..part.len().min(page.len)].to_vec();
                if b.len() < page.needed {
                    b.resize(page.needed, 0);
                }
                b
            })
            .collect();
        let mut copies = Copies::default();
        for (page, b) in pages.iter().zip(&bytes) {
            copies.push(page.label, b);
        }
        let decoded = family.decode(&copies);
        let _ = serde_json::to_string(&decoded.telemetry);
        for (_, page) in &decoded.pages {
            let _ = serde_json::to_string(page);
        }
    }
}
