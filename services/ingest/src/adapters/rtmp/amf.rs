//! A shape check for AMF0 payloads, run before rml_amf0 ever sees them.
//!
//! rml_amf0 0.3 recurses into objects, ECMA arrays and strict arrays without a depth limit (a
//! deeply nested value overflows the stack and kills the whole process) and rml_rtmp 0.8 indexes
//! the decoded values without checking how many there are (`drain(..3)` on commands, `data[0]`
//! and `remove(1)` on `@setDataFrame`). This walker follows rml_amf0's grammar step for step —
//! including its quirks: a top-level object-end marker stops decoding, strings may be short,
//! strict arrays stop at the end of input — but iteratively, with an explicit stack capped at
//! `max_depth`, and reports what rml_rtmp will index into. Anything it cannot follow is refused:
//! rml would refuse it too, only later and with less care.

/// AMF0 markers rml_amf0 understands; every other marker makes it fail.
mod marker {
    pub const NUMBER: u8 = 0x00;
    pub const BOOLEAN: u8 = 0x01;
    pub const STRING: u8 = 0x02;
    pub const OBJECT: u8 = 0x03;
    pub const NULL: u8 = 0x05;
    pub const UNDEFINED: u8 = 0x06;
    pub const ECMA_ARRAY: u8 = 0x08;
    pub const OBJECT_END: u8 = 0x09;
    pub const STRICT_ARRAY: u8 = 0x0a;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmfError {
    #[error("AMF0 nesting deeper than {0}")]
    TooDeep(usize),
    #[error("AMF0 strict array declares more elements than bytes remain")]
    ArrayCountTooLarge,
    #[error("malformed AMF0 value")]
    Malformed,
}

/// What rml_rtmp will see after decoding: how many top-level values, and the first one when it
/// is a string (command name, `@setDataFrame`, `onMetaData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmfSummary {
    pub top_level_values: usize,
    /// Bytes of the first top-level value when it is a string (possibly short, like rml reads it).
    pub first_string: Option<Vec<u8>>,
    /// Offset just past the first top-level value (where a metadata body starts after the
    /// `@setDataFrame` prefix).
    pub first_value_end: usize,
}

enum Frame {
    /// Properties until an empty name followed by the object-end marker.
    Object,
    /// At most this many more values; ends early at the end of input or an object-end marker.
    StrictArray { remaining: u32 },
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], AmfError> {
        if self.remaining() < n {
            return Err(AmfError::Malformed);
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    /// Like `Read::read` on a cursor: takes what is there, never fails (rml's string reads).
    fn take_up_to(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.remaining());
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        bytes
    }

    fn u8(&mut self) -> Result<u8, AmfError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, AmfError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, AmfError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Walks `data` like `rml_amf0::deserialize` and returns its summary, or why it must not reach
/// rml.
pub fn check(data: &[u8], max_depth: usize) -> Result<AmfSummary, AmfError> {
    let mut reader = Reader { data, pos: 0 };
    let mut stack: Vec<Frame> = Vec::with_capacity(max_depth.min(64));
    let mut summary = AmfSummary {
        top_level_values: 0,
        first_string: None,
        first_value_end: 0,
    };

    loop {
        match stack.last_mut() {
            None => {
                let start = reader.pos;
                if !next_value(&mut reader, &mut stack, max_depth)? {
                    return Ok(summary);
                }
                summary.top_level_values += 1;
                if summary.top_level_values == 1 && data.get(start) == Some(&marker::STRING) {
                    summary.first_string = data.get(start + 3..reader.pos).map(<[u8]>::to_vec);
                }
            }
            Some(Frame::Object) => {
                let name_length = reader.u16()?;
                if name_length == 0 {
                    if reader.u8()? != marker::OBJECT_END {
                        return Err(AmfError::Malformed);
                    }
                    stack.pop();
                } else {
                    reader.take_up_to(usize::from(name_length));
                    // rml: a property without a value is an unexpected end.
                    if !next_value(&mut reader, &mut stack, max_depth)? {
                        return Err(AmfError::Malformed);
                    }
                }
            }
            Some(Frame::StrictArray { remaining }) => {
                if *remaining == 0 {
                    stack.pop();
                } else {
                    *remaining -= 1;
                    if !next_value(&mut reader, &mut stack, max_depth)? {
                        stack.pop();
                    }
                }
            }
        }
        // The first top-level value is complete once the stack is empty again.
        if stack.is_empty() && summary.top_level_values == 1 && summary.first_value_end == 0 {
            summary.first_value_end = reader.pos;
        }
    }
}

/// rml_amf0's `read_next_value`: one marker and, for scalars, the value behind it. `false` where
/// rml returns `None` (end of input or an object-end marker); containers are pushed on `stack`.
fn next_value(
    reader: &mut Reader<'_>,
    stack: &mut Vec<Frame>,
    max_depth: usize,
) -> Result<bool, AmfError> {
    let Ok(marker) = reader.u8() else {
        return Ok(false);
    };
    let mut open = |frame: Frame| {
        if stack.len() >= max_depth {
            return Err(AmfError::TooDeep(max_depth));
        }
        stack.push(frame);
        Ok(true)
    };
    match marker {
        marker::OBJECT_END => Ok(false),
        marker::NUMBER => reader.take(8).map(|_| true),
        marker::BOOLEAN => reader.take(1).map(|_| true),
        marker::NULL | marker::UNDEFINED => Ok(true),
        marker::STRING => {
            let length = reader.u16()?;
            reader.take_up_to(usize::from(length));
            Ok(true)
        }
        marker::OBJECT => open(Frame::Object),
        marker::ECMA_ARRAY => {
            reader.u32()?;
            open(Frame::Object)
        }
        marker::STRICT_ARRAY => {
            let count = reader.u32()?;
            // Every element takes at least one byte: a larger count is a lie.
            if usize::try_from(count).map_or(true, |c| c > reader.remaining()) {
                return Err(AmfError::ArrayCountTooLarge);
            }
            open(Frame::StrictArray { remaining: count })
        }
        _ => Err(AmfError::Malformed),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn string(s: &str) -> Vec<u8> {
        let mut out = vec![marker::STRING];
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
        out
    }

    pub fn number(n: f64) -> Vec<u8> {
        let mut out = vec![marker::NUMBER];
        out.extend_from_slice(&n.to_be_bytes());
        out
    }

    pub fn object(props: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = vec![marker::OBJECT];
        for (name, value) in props {
            out.extend_from_slice(&(name.len() as u16).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(value);
        }
        out.extend_from_slice(&[0, 0, marker::OBJECT_END]);
        out
    }

    /// An object nested `depth` levels deep: {a: {a: {... null}}}.
    pub fn nested_objects(depth: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..depth {
            out.extend_from_slice(&[marker::OBJECT, 0, 1, b'a']);
        }
        out.push(marker::NULL);
        for _ in 0..depth {
            out.extend_from_slice(&[0, 0, marker::OBJECT_END]);
        }
        out
    }

    fn rml_decodes(data: &[u8]) -> Option<usize> {
        let mut cursor = std::io::Cursor::new(data);
        rml_rtmp::rml_amf0::deserialize(&mut cursor)
            .ok()
            .map(|v| v.len())
    }

    #[test]
    fn connect_command_is_summarised() {
        let mut data = string("connect");
        data.extend(number(1.0));
        data.extend(object(&[
            ("app", string("live")),
            ("tcUrl", string("rtmp://x/live")),
        ]));
        let summary = check(&data, 16).expect("valid");
        assert_eq!(summary.top_level_values, 3);
        assert_eq!(summary.first_string.as_deref(), Some(&b"connect"[..]));
        assert_eq!(summary.first_value_end, 10);
        assert_eq!(rml_decodes(&data), Some(3));
    }

    #[test]
    fn nesting_at_the_limit_passes_and_one_deeper_is_refused() {
        assert!(check(&nested_objects(16), 16).is_ok());
        assert_eq!(check(&nested_objects(17), 16), Err(AmfError::TooDeep(16)));
    }

    #[test]
    fn ten_thousand_deep_object_is_refused_without_recursion() {
        let data = nested_objects(10_000);
        assert_eq!(check(&data, 16), Err(AmfError::TooDeep(16)));
    }

    #[test]
    fn strict_array_count_beyond_the_input_is_refused() {
        let mut data = vec![marker::STRICT_ARRAY];
        data.extend_from_slice(&u32::MAX.to_be_bytes());
        data.extend(number(1.0));
        assert_eq!(check(&data, 16), Err(AmfError::ArrayCountTooLarge));
    }

    #[test]
    fn strict_array_and_ecma_array_nest_and_close() {
        let mut data = vec![marker::STRICT_ARRAY, 0, 0, 0, 2];
        data.extend(number(1.0));
        data.extend(vec![marker::ECMA_ARRAY, 0, 0, 0, 1, 0, 1, b'x']);
        data.extend(number(2.0));
        data.extend_from_slice(&[0, 0, marker::OBJECT_END]);
        data.extend(string("after"));
        let summary = check(&data, 16).expect("valid");
        assert_eq!(summary.top_level_values, 2);
        assert_eq!(rml_decodes(&data), Some(2));
    }

    #[test]
    fn top_level_object_end_stops_like_rml() {
        let mut data = string("a");
        data.push(marker::OBJECT_END);
        data.extend(nested_objects(100));
        let summary = check(&data, 16).expect("rml stops at the marker");
        assert_eq!(summary.top_level_values, 1);
        assert_eq!(rml_decodes(&data), Some(1));
    }

    #[test]
    fn unknown_marker_and_truncation_are_malformed() {
        assert_eq!(check(&[0x11], 16), Err(AmfError::Malformed));
        assert_eq!(check(&[marker::NUMBER, 1, 2], 16), Err(AmfError::Malformed));
        assert_eq!(
            check(&[marker::OBJECT, 0, 1, b'a'], 16),
            Err(AmfError::Malformed)
        );
    }

    #[test]
    fn short_string_is_accepted_like_rml_reads_it() {
        let data = [marker::STRING, 0, 10, b'a', b'b'];
        let summary = check(&data, 16).expect("rml reads short strings");
        assert_eq!(summary.first_string.as_deref(), Some(&b"ab"[..]));
        assert_eq!(rml_decodes(&data), Some(1));
    }

    #[test]
    fn empty_input_has_no_values() {
        let summary = check(&[], 16).expect("empty");
        assert_eq!(summary.top_level_values, 0);
    }
}
