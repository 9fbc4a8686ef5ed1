//! iRacing's page: its header, its variable headers and its rotating
//! variable buffers, from the iRacing SDK's `irsdk_defines.h`
//! (`irsdk_header`, `irsdk_varBuf`, `irsdk_varHeader`; SDK version 2 adds
//! `countAsTime` in the variable header's padding). Little-endian,
//! 16-byte aligned records; every offset is the header's, and is checked
//! against the page before it is followed.

use zerocopy::little_endian::I32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `IRSDK_MAX_BUFS`: the header has room for this many buffers.
pub const MAX_BUFS: usize = 4;
/// `irsdk_stConnected`: the sim is running and writing.
pub const CONNECTED: i32 = 1;

/// `irsdk_varBuf`.
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct VarBuf {
    /// The frame the buffer holds; set after the buffer is written.
    pub tick_count: I32,
    /// Where the buffer is, from the start of the page.
    pub buf_offset: I32,
    pub(super) pad: [I32; 2],
}

/// `irsdk_header`.
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Header {
    /// API version (1, now 2).
    pub ver: I32,
    /// Bit field: [`CONNECTED`].
    pub status: I32,
    /// Frames a second (60).
    pub tick_rate: I32,
    /// Raised after each rewrite of the session info.
    pub session_info_update: I32,
    /// Bytes reserved for the session info.
    pub session_info_len: I32,
    /// Where the session info (YAML) is.
    pub session_info_offset: I32,
    /// How many variable headers there are.
    pub num_vars: I32,
    /// Where they are.
    pub var_header_offset: I32,
    /// How many rotating buffers are used (3).
    pub num_buf: I32,
    /// Bytes of one buffer.
    pub buf_len: I32,
    pub(super) pad: [I32; 2],
    /// The buffers.
    pub var_buf: [VarBuf; MAX_BUFS],
}

/// `irsdk_varHeader`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct VarHeader {
    /// `irsdk_VarType`: 0 char, 1 bool, 2 int, 3 bit field, 4 float, 5 double.
    pub var_type: I32,
    /// Where the value is in a buffer.
    pub offset: I32,
    /// How many values (arrays: one per car, ...).
    pub count: I32,
    /// Whether the values are times (SDK version 2).
    pub count_as_time: u8,
    pub(super) pad: [u8; 3],
    /// The name, NUL-terminated.
    pub name: [u8; 32],
    /// What it is.
    pub desc: [u8; 64],
    /// Its unit (`m/s`, `kPa`, `irsdk_Flags`, ...).
    pub unit: [u8; 32],
}

// The SDK's sizes and offsets, checked where the compiler can see them.
const _: () = {
    assert!(size_of::<Header>() == 112);
    assert!(size_of::<VarBuf>() == 16);
    assert!(size_of::<VarHeader>() == 144);
    assert!(std::mem::offset_of!(Header, session_info_update) == 12);
    assert!(std::mem::offset_of!(Header, num_buf) == 32);
    assert!(std::mem::offset_of!(Header, var_buf) == 48);
    assert!(std::mem::offset_of!(VarHeader, count_as_time) == 12);
    assert!(std::mem::offset_of!(VarHeader, name) == 16);
    assert!(std::mem::offset_of!(VarHeader, desc) == 48);
    assert!(std::mem::offset_of!(VarHeader, unit) == 112);
};

/// Where the protocol's words are, for [`crate::titles::Protocol::NewestTick`].
pub const NUM_BUF_AT: usize = std::mem::offset_of!(Header, num_buf);
/// The first buffer's tick count.
pub const TICKS_AT: usize = std::mem::offset_of!(Header, var_buf);
/// The session info's counter.
pub const SESSION_UPDATE_AT: usize = std::mem::offset_of!(Header, session_info_update);

/// What is wrong with a page, in words for the views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Version 0: the sim has not written its header yet.
    NoHeader,
    /// A version this decoder does not know.
    Version(i32),
    /// The sim is not running (status 0): what is there is stale.
    NotConnected,
    /// An offset or count of the header points outside the page.
    Outside(String),
    /// No buffer was written yet (every tick count is -1).
    NoFrame,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::NoHeader => f.write_str("no iRacing header yet (version 0): is a session loaded?"),
            Problem::Version(v) => write!(f, "header version {v}; shm-bridge reads versions 1 and 2"),
            Problem::NotConnected => f.write_str("the sim is not connected (status 0): no session is running"),
            Problem::Outside(what) => write!(f, "the header points outside the page: {what}"),
            Problem::NoFrame => f.write_str("no frame written yet (every tick count is -1)"),
        }
    }
}

/// A page whose header checked out: its newest buffer and what describes it.
#[derive(Debug)]
pub struct Irsdk<'a> {
    /// The header, as copied.
    pub header: Header,
    /// The variable headers.
    pub vars: &'a [VarHeader],
    /// The newest buffer's bytes (`bufLen` of them).
    pub buffer: &'a [u8],
    /// Its tick count.
    pub tick: i32,
}

/// `len` bytes at `offset` of `page`, if both are in it.
fn span(page: &[u8], offset: i32, len: i64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(len).ok()?;
    page.get(start..start.checked_add(len)?)
}

/// The header of `page`, if it is long enough to hold one.
pub fn header(page: &[u8]) -> Option<Header> {
    Header::read_from_prefix(page).ok().map(|(h, _)| h)
}

/// The session info's bytes (up to its NUL), or why they cannot be read.
pub fn session_text<'a>(page: &'a [u8], h: &Header) -> Result<&'a [u8], Problem> {
    let text = span(page, h.session_info_offset.get(), i64::from(h.session_info_len.get()))
        .ok_or_else(|| {
            Problem::Outside(format!(
                "session info of {} bytes at {}",
                h.session_info_len, h.session_info_offset
            ))
        })?;
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    Ok(&text[..end])
}

/// Checks `page`'s header and finds its newest buffer.
pub fn parse(page: &[u8]) -> Result<Irsdk<'_>, Problem> {
    let h = header(page).ok_or_else(|| Problem::Outside("the page is shorter than its header".into()))?;
    match h.ver.get() {
        0 => return Err(Problem::NoHeader),
        1 | 2 => {}
        v => return Err(Problem::Version(v)),
    }
    if h.status.get() & CONNECTED == 0 {
        return Err(Problem::NotConnected);
    }
    let num_buf = usize::try_from(h.num_buf.get())
        .ok()
        .filter(|n| (1..=MAX_BUFS).contains(n))
        .ok_or_else(|| Problem::Outside(format!("{} buffers (1 to {MAX_BUFS})", h.num_buf)))?;
    let header_bytes = i64::from(h.num_vars.get()) * size_of::<VarHeader>() as i64;
    let var_bytes = span(page, h.var_header_offset.get(), header_bytes).ok_or_else(|| {
        Problem::Outside(format!(
            "{} variable headers at {}",
            h.num_vars, h.var_header_offset
        ))
    })?;
    let vars = <[VarHeader]>::ref_from_bytes(var_bytes)
        .map_err(|_| Problem::Outside("variable headers of a partial record".into()))?;
    let newest = h.var_buf[..num_buf]
        .iter()
        .max_by_key(|b| b.tick_count.get())
        .copied()
        .unwrap_or_default();
    if newest.tick_count.get() < 0 {
        return Err(Problem::NoFrame);
    }
    let buffer = span(page, newest.buf_offset.get(), i64::from(h.buf_len.get())).ok_or_else(|| {
        Problem::Outside(format!(
            "a buffer of {} bytes at {}",
            h.buf_len, newest.buf_offset
        ))
    })?;
    Ok(Irsdk {
        header: h,
        vars,
        buffer,
        tick: newest.tick_count.get(),
    })
}

/// The text of a NUL-terminated name field.
pub fn name(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// One value of a variable, in the variable's own type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// `irsdk_char`, `irsdk_bool`.
    Byte(u8),
    /// `irsdk_int`.
    Int(i32),
    /// `irsdk_bitField`.
    Bits(u32),
    /// `irsdk_float`.
    Float(f32),
    /// `irsdk_double`.
    Double(f64),
}

impl Value {
    /// As a number (exact for every type but the largest doubles).
    pub fn number(self) -> f64 {
        match self {
            Value::Byte(b) => f64::from(b),
            Value::Int(i) => f64::from(i),
            Value::Bits(b) => f64::from(b),
            Value::Float(f) => f64::from(f),
            Value::Double(d) => d,
        }
    }

    /// As an integer, if it is one of the integer types.
    pub fn int(self) -> Option<i64> {
        match self {
            Value::Byte(b) => Some(i64::from(b)),
            Value::Int(i) => Some(i64::from(i)),
            Value::Bits(b) => Some(i64::from(b)),
            Value::Float(_) | Value::Double(_) => None,
        }
    }
}

/// Bytes of one value of `var_type` (`irsdk_VarTypeBytes`).
fn type_len(var_type: i32) -> Option<usize> {
    Some(match var_type {
        0 | 1 => 1,
        2..=4 => 4,
        5 => 8,
        _ => return None,
    })
}

impl Irsdk<'_> {
    /// Value `index` of `var` in the newest buffer; `None` when the
    /// variable header points outside the buffer or has an unknown type.
    pub fn value(&self, var: &VarHeader, index: usize) -> Option<Value> {
        let len = type_len(var.var_type.get())?;
        let count = usize::try_from(var.count.get()).ok()?;
        if index >= count {
            return None;
        }
        let at = usize::try_from(var.offset.get()).ok()?.checked_add(index.checked_mul(len)?)?;
        let bytes = self.buffer.get(at..at.checked_add(len)?)?;
        let word = |n: usize| bytes.get(..n);
        Some(match var.var_type.get() {
            0 | 1 => Value::Byte(bytes[0]),
            2 => Value::Int(i32::from_le_bytes(word(4)?.try_into().ok()?)),
            3 => Value::Bits(u32::from_le_bytes(word(4)?.try_into().ok()?)),
            4 => Value::Float(f32::from_le_bytes(word(4)?.try_into().ok()?)),
            _ => Value::Double(f64::from_le_bytes(word(8)?.try_into().ok()?)),
        })
    }
}
