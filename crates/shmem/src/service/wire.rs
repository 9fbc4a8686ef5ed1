//! The service's wire protocol: frames, requests and replies, decoded
//! without trusting the other side.
//!
//! Both directions carry frames: a little-endian `u32` body length, then
//! the body, whose first byte says what it is. Integers are little-endian.
//! A request body is at most [`MAX_REQUEST`] bytes and has the exact length
//! of its kind; anything else is malformed, and the server closes that
//! client. A reply that hands out a segment carries its descriptor as
//! `SCM_RIGHTS` on the same message.
//!
//! | request | body | reply |
//! |---|---|---|
//! | create | `1`, size `u64` | segment + descriptor, or refusal |
//! | open | `2`, key `u64`, size `u64` | segment + descriptor, or refusal |
//! | retain | `3`, key `u64`, count `u32` | done, or refusal |
//! | release | `4`, key `u64`, count `u32` | none: fire and forget |
//! | pre-fork | `5` | forked (a token) |
//! | adopt | `6`, token `u64` | adopted (keys and counts), or refusal |
//! | stats | `7` | stats |
//!
//! On connecting, the client first receives a hello (protocol version,
//! service tag, client number, server pid), unless the server refuses it.

use std::ops::Range;

use super::ServiceStats;

/// Version of this protocol, sent in the hello.
pub(crate) const PROTOCOL: u8 = 1;
/// Bytes of the length prefix.
pub(crate) const HEADER: usize = 4;
/// Largest request body; a longer one closes the client.
pub(crate) const MAX_REQUEST: usize = 32;
/// Most references one fork can hand to a child.
pub(crate) const MAX_ADOPTED: usize = 65_536;
/// Largest reply body (an adoption of [`MAX_ADOPTED`] entries).
pub(crate) const MAX_REPLY: usize = 1 + 4 + 12 * MAX_ADOPTED;

const CREATE: u8 = 1;
const OPEN: u8 = 2;
const RETAIN: u8 = 3;
const RELEASE: u8 = 4;
const PRE_FORK: u8 = 5;
const ADOPT: u8 = 6;
const STATS: u8 = 7;

const HELLO: u8 = b'H';
const SEGMENT: u8 = b'S';
const DONE: u8 = b'D';
const FORKED: u8 = b'F';
const ADOPTED: u8 = b'A';
const STATS_REPLY: u8 = b'T';
const REFUSED: u8 = b'E';

/// What a client asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// A new segment of `size` bytes, and one reference to it.
    Create { size: u64 },
    /// The segment `key`, to map `size` bytes of, and one reference to it.
    Open { key: u64, size: u64 },
    /// `count` more references to `key`, without its descriptor.
    Retain { key: u64, count: u32 },
    /// Gives back `count` references to `key`.
    Release { key: u64, count: u32 },
    /// Copies this client's references aside for a child about to be forked.
    PreFork,
    /// Takes the references a parent set aside under `token`.
    Adopt { token: u64 },
    /// The service's counters.
    Stats,
}

impl Request {
    /// The whole frame, length prefix included, in `buf`; returns its length.
    pub(crate) fn encode(&self, buf: &mut [u8; HEADER + MAX_REQUEST]) -> usize {
        let mut w = Writer { buf, at: HEADER };
        match *self {
            Request::Create { size } => {
                w.u8(CREATE);
                w.u64(size);
            }
            Request::Open { key, size } => {
                w.u8(OPEN);
                w.u64(key);
                w.u64(size);
            }
            Request::Retain { key, count } => {
                w.u8(RETAIN);
                w.u64(key);
                w.u32(count);
            }
            Request::Release { key, count } => {
                w.u8(RELEASE);
                w.u64(key);
                w.u32(count);
            }
            Request::PreFork => w.u8(PRE_FORK),
            Request::Adopt { token } => {
                w.u8(ADOPT);
                w.u64(token);
            }
            Request::Stats => w.u8(STATS),
        }
        let len = w.at;
        buf[..HEADER].copy_from_slice(&((len - HEADER) as u32).to_le_bytes());
        len
    }

    /// Reads a request body; `None` if it is not exactly one well-formed request.
    pub(crate) fn decode(body: &[u8]) -> Option<Request> {
        let mut r = Reader(body);
        let request = match r.u8()? {
            CREATE => Request::Create { size: r.u64()? },
            OPEN => Request::Open {
                key: r.u64()?,
                size: r.u64()?,
            },
            RETAIN => Request::Retain {
                key: r.u64()?,
                count: r.u32()?,
            },
            RELEASE => Request::Release {
                key: r.u64()?,
                count: r.u32()?,
            },
            PRE_FORK => Request::PreFork,
            ADOPT => Request::Adopt { token: r.u64()? },
            STATS => Request::Stats,
            _ => return None,
        };
        r.is_empty().then_some(request)
    }
}

/// Why the server said no to a well-formed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No such segment (never was, or freed since), or no such fork token.
    NotFound,
    /// The segment holds fewer bytes than asked for.
    TooSmall { actual: u64 },
    /// A size of 0, or more than a mapping can hold.
    BadSize,
    /// The OS refused (`errno`), e.g. out of memory or descriptors.
    Os { errno: i32 },
    /// A counter would overflow, or a fork would hand over too much.
    Limit,
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Sent once, on connecting.
    Hello {
        version: u8,
        service: u64,
        client: u64,
        pid: u32,
    },
    /// A segment; its descriptor travels with this frame.
    Segment { key: u64, size: u64 },
    /// Done, nothing to say.
    Done,
    /// References set aside for a child, under this token.
    Forked { token: u64 },
    /// References taken over: (key, count).
    Adopted(Vec<(u64, u32)>),
    /// The counters.
    Stats(ServiceStats),
    /// No.
    Refused(Refusal),
}

impl Reply {
    /// Appends the whole frame, length prefix included, to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; HEADER]);
        match self {
            Reply::Hello {
                version,
                service,
                client,
                pid,
            } => {
                out.push(HELLO);
                out.push(*version);
                out.extend_from_slice(&service.to_le_bytes());
                out.extend_from_slice(&client.to_le_bytes());
                out.extend_from_slice(&pid.to_le_bytes());
            }
            Reply::Segment { key, size } => {
                out.push(SEGMENT);
                out.extend_from_slice(&key.to_le_bytes());
                out.extend_from_slice(&size.to_le_bytes());
            }
            Reply::Done => out.push(DONE),
            Reply::Forked { token } => {
                out.push(FORKED);
                out.extend_from_slice(&token.to_le_bytes());
            }
            Reply::Adopted(refs) => {
                out.push(ADOPTED);
                out.extend_from_slice(&(refs.len() as u32).to_le_bytes());
                for (key, count) in refs {
                    out.extend_from_slice(&key.to_le_bytes());
                    out.extend_from_slice(&count.to_le_bytes());
                }
            }
            Reply::Stats(s) => {
                out.push(STATS_REPLY);
                for v in [s.clients, s.segments, s.bytes, s.refused, s.dropped] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Reply::Refused(refusal) => {
                out.push(REFUSED);
                let (code, detail) = match *refusal {
                    Refusal::NotFound => (1u8, 0u64),
                    Refusal::TooSmall { actual } => (2, actual),
                    Refusal::BadSize => (3, 0),
                    Refusal::Os { errno } => (4, errno as u32 as u64),
                    Refusal::Limit => (5, 0),
                };
                out.push(code);
                out.extend_from_slice(&detail.to_le_bytes());
            }
        }
        let len = (out.len() - start - HEADER) as u32;
        out[start..start + HEADER].copy_from_slice(&len.to_le_bytes());
    }

    /// Reads a reply body; `None` if it is not exactly one well-formed reply.
    pub(crate) fn decode(body: &[u8]) -> Option<Reply> {
        let mut r = Reader(body);
        let reply = match r.u8()? {
            HELLO => Reply::Hello {
                version: r.u8()?,
                service: r.u64()?,
                client: r.u64()?,
                pid: r.u32()?,
            },
            SEGMENT => Reply::Segment {
                key: r.u64()?,
                size: r.u64()?,
            },
            DONE => Reply::Done,
            FORKED => Reply::Forked { token: r.u64()? },
            ADOPTED => {
                let n = r.u32()? as usize;
                if n > MAX_ADOPTED || r.0.len() != n * 12 {
                    return None;
                }
                let mut refs = Vec::with_capacity(n);
                for _ in 0..n {
                    refs.push((r.u64()?, r.u32()?));
                }
                Reply::Adopted(refs)
            }
            STATS_REPLY => Reply::Stats(ServiceStats {
                clients: r.u64()?,
                segments: r.u64()?,
                bytes: r.u64()?,
                refused: r.u64()?,
                dropped: r.u64()?,
            }),
            REFUSED => {
                let code = r.u8()?;
                let detail = r.u64()?;
                Reply::Refused(match code {
                    1 => Refusal::NotFound,
                    2 => Refusal::TooSmall { actual: detail },
                    3 => Refusal::BadSize,
                    4 => Refusal::Os {
                        errno: i32::try_from(detail).ok()?,
                    },
                    5 => Refusal::Limit,
                    _ => return None,
                })
            }
            _ => return None,
        };
        r.is_empty().then_some(reply)
    }
}

/// What the start of a receive buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Framing {
    /// A whole frame: its body is `body`, and the next frame starts at `end`.
    Frame { body: Range<usize>, end: usize },
    /// Not a whole frame yet.
    Incomplete,
    /// A frame announces a body longer than allowed (the length given).
    TooLong(u32),
}

/// Finds the first frame in `buf`, allowing bodies of at most `max` bytes.
pub(crate) fn framing(buf: &[u8], max: usize) -> Framing {
    let Some(header) = buf.get(..HEADER) else {
        return Framing::Incomplete;
    };
    let len = u32::from_le_bytes(header.try_into().expect("4 bytes"));
    if len as usize > max {
        return Framing::TooLong(len);
    }
    let end = HEADER + len as usize;
    if buf.len() < end {
        return Framing::Incomplete;
    }
    Framing::Frame {
        body: HEADER..end,
        end,
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

struct Writer<'a> {
    buf: &'a mut [u8; HEADER + MAX_REQUEST],
    at: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) {
        self.buf[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }
    fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUESTS: [Request; 7] = [
        Request::Create { size: 4096 },
        Request::Open {
            key: u64::MAX,
            size: 1,
        },
        Request::Retain { key: 3, count: 2 },
        Request::Release {
            key: 3,
            count: u32::MAX,
        },
        Request::PreFork,
        Request::Adopt { token: 99 },
        Request::Stats,
    ];

    fn body_of(request: Request) -> Vec<u8> {
        let mut buf = [0; HEADER + MAX_REQUEST];
        let len = request.encode(&mut buf);
        match framing(&buf[..len], MAX_REQUEST) {
            Framing::Frame { body, end } => {
                assert_eq!(end, len);
                buf[body].to_vec()
            }
            other => panic!("{request:?} framed as {other:?}"),
        }
    }

    #[test]
    fn requests_round_trip() {
        for request in REQUESTS {
            assert_eq!(Request::decode(&body_of(request)), Some(request));
        }
    }

    #[test]
    fn requests_of_the_wrong_length_or_kind_are_malformed() {
        for request in REQUESTS {
            let body = body_of(request);
            assert_eq!(
                Request::decode(&body[..body.len() - 1]),
                None,
                "{request:?} cut"
            );
            let mut longer = body.clone();
            longer.push(0);
            assert_eq!(
                Request::decode(&longer),
                None,
                "{request:?} with a byte more"
            );
        }
        assert_eq!(Request::decode(&[]), None);
        for kind in [0u8, 8, 0x7f, 0xff, b'G'] {
            assert_eq!(Request::decode(&[kind; 9]), None, "kind {kind}");
        }
    }

    #[test]
    fn framing_waits_for_whole_frames_and_refuses_long_ones() {
        assert_eq!(framing(&[], 32), Framing::Incomplete);
        assert_eq!(framing(&[9, 0, 0], 32), Framing::Incomplete);
        assert_eq!(framing(&[9, 0, 0, 0, 1, 2], 32), Framing::Incomplete);
        assert_eq!(framing(&[33, 0, 0, 0], 32), Framing::TooLong(33));
        assert_eq!(
            framing(b"GET / HTTP/1.1", 32),
            Framing::TooLong(0x2054_4547)
        );
        assert_eq!(
            framing(&[1, 0, 0, 0, 7, 1, 0, 0, 0, 7], 32),
            Framing::Frame { body: 4..5, end: 5 }
        );
    }

    #[test]
    fn replies_round_trip() {
        let replies = [
            Reply::Hello {
                version: PROTOCOL,
                service: 0xfeed,
                client: 3,
                pid: 1234,
            },
            Reply::Segment {
                key: 5,
                size: 1 << 33,
            },
            Reply::Done,
            Reply::Forked { token: 8 },
            Reply::Adopted(vec![]),
            Reply::Adopted(vec![(1, 2), (u64::MAX, u32::MAX)]),
            Reply::Stats(ServiceStats {
                clients: 1,
                segments: 2,
                bytes: 3,
                refused: 4,
                dropped: 5,
            }),
            Reply::Refused(Refusal::NotFound),
            Reply::Refused(Refusal::TooSmall { actual: 77 }),
            Reply::Refused(Refusal::BadSize),
            Reply::Refused(Refusal::Os { errno: 12 }),
            Reply::Refused(Refusal::Limit),
        ];
        for reply in replies {
            let mut out = vec![0xAA];
            reply.encode(&mut out);
            let Framing::Frame { body, end } = framing(&out[1..], MAX_REPLY) else {
                panic!("{reply:?} not framed");
            };
            assert_eq!(end, out.len() - 1);
            let body = &out[1..][body];
            assert_eq!(Reply::decode(body).as_ref(), Some(&reply));
            assert_eq!(
                Reply::decode(&body[..body.len() - 1]),
                None,
                "{reply:?} cut"
            );
        }
        assert_eq!(
            Reply::decode(&[ADOPTED, 2, 0, 0, 0]),
            None,
            "fewer entries than said"
        );
        assert_eq!(Reply::decode(&[REFUSED, 9, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }
}
