//! Both command lines, pure parsing, built (and tested, and fuzzed) on
//! every OS: the bridge exe's ([`exe`]) and the Linux companion's
//! ([`companion`]), which share the options naming mappings ([`maps`]) and
//! the parsers of numbers a user types ([`values`]).

pub mod companion;
pub mod exe;
pub mod maps;
pub mod values;
