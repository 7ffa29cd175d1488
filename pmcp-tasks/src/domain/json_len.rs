//! The size of a value as compact JSON, counted without writing it.
//!
//! Every store write measures the whole record this way (the owner's byte
//! quota counts it), so it is on every task's hot path: serializing into a
//! counting writer through serde_json was a fifth to a third of a
//! memory-store lifecycle in a profile, most of it serde_json's writer
//! plumbing rather than bytes.
//! This serializer adds up what serde_json's compact output would be; a
//! shape it does not count exactly (a map key that is not a string or an
//! integer, serde_json's arbitrary-precision numbers) falls back to
//! serde_json. Raw values (`RawValue`, which records keep their arguments
//! and results in) count as the length of their text.

use serde::ser::{self, Serialize};
use std::fmt;

/// The size of `value` as compact JSON, as `serde_json::to_vec` would write
/// it; a value that does not serialize counts what was written before it
/// stopped.
pub(crate) fn json_len(value: &(impl Serialize + ?Sized)) -> usize {
    let mut len = Len(0);
    match value.serialize(&mut len) {
        Ok(()) => len.0,
        Err(Unusual) => by_serde_json(value),
    }
}

fn by_serde_json(value: &(impl Serialize + ?Sized)) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; a value that does not serialize
    // counts what was written before it stopped.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// What each byte of a string adds to its length when serde_json escapes
/// it: one for `"`, `\` and the controls written `\b`, `\t`, `\n`, `\f`,
/// `\r`; five for the other controls (`\u00XX`).
const ESCAPE_EXTRA: [u8; 256] = {
    let mut extra = [0; 256];
    let mut b = 0;
    while b < 0x20 {
        extra[b] = match b {
            0x08 | 0x09 | 0x0a | 0x0c | 0x0d => 1,
            _ => 5,
        };
        b += 1;
    }
    extra[b'"' as usize] = 1;
    extra[b'\\' as usize] = 1;
    extra
};

fn string_len(s: &str) -> usize {
    let extra: usize = s.bytes().map(|b| ESCAPE_EXTRA[b as usize] as usize).sum();
    s.len() + 2 + extra
}

fn unsigned_len(n: u128) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn signed_len(n: i128) -> usize {
    usize::from(n < 0) + unsigned_len(n.unsigned_abs())
}

/// The struct name serde_json's `RawValue` serializes as.
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// A shape counted by serde_json instead (see the module).
#[derive(Debug)]
pub(crate) struct Unusual;

impl fmt::Display for Unusual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a shape counted by serde_json")
    }
}

impl std::error::Error for Unusual {}

impl ser::Error for Unusual {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unusual
    }
}

/// The running count.
struct Len(usize);

/// A sequence or map under way: whether a comma comes before the next
/// element.
struct Compound<'a> {
    len: &'a mut Len,
    first: bool,
    /// Closing brackets still to count when it ends (`]`, `}`, or `]}` /
    /// `}}` for an enum variant's contents).
    closing: usize,
    /// A serde_json raw value: its one field is its JSON text.
    raw: bool,
}

impl Compound<'_> {
    fn comma(&mut self) {
        if !self.first {
            self.len.0 += 1;
        }
        self.first = false;
    }

    fn finish(self) -> Result<(), Unusual> {
        self.len.0 += self.closing;
        Ok(())
    }
}

impl<'a> Len {
    fn open(&'a mut self, opening: usize, closing: usize) -> Compound<'a> {
        self.0 += opening;
        Compound {
            len: self,
            first: true,
            raw: false,
            closing,
        }
    }

    /// `{"variant":` before a variant's contents.
    fn variant(&mut self, variant: &str) {
        self.0 += 1 + string_len(variant) + 1;
    }
}

impl<'a> ser::Serializer for &'a mut Len {
    type Ok = ();
    type Error = Unusual;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Unusual> {
        self.0 += if v { 4 } else { 5 };
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unusual> {
        self.serialize_i128(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unusual> {
        self.serialize_i128(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unusual> {
        self.serialize_i128(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unusual> {
        self.serialize_i128(v.into())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Unusual> {
        self.0 += signed_len(v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unusual> {
        self.serialize_u128(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unusual> {
        self.serialize_u128(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unusual> {
        self.serialize_u128(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unusual> {
        self.serialize_u128(v.into())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Unusual> {
        self.0 += unsigned_len(v);
        Ok(())
    }
    // Floats are rare in records: serde_json's own shortest form.
    fn serialize_f32(self, v: f32) -> Result<(), Unusual> {
        self.0 += by_serde_json(&v);
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Unusual> {
        self.0 += by_serde_json(&v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Unusual> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Unusual> {
        self.0 += string_len(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Unusual> {
        // serde_json writes bytes as an array of numbers.
        let digits: usize = v.iter().map(|b| unsigned_len((*b).into())).sum();
        self.0 += 2 + digits + v.len().saturating_sub(1);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Unusual> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unusual> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unusual> {
        self.0 += 4;
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unusual> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unusual> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unusual> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unusual> {
        self.variant(variant);
        value.serialize(&mut *self)?;
        self.0 += 1;
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Unusual> {
        Ok(self.open(1, 1))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Unusual> {
        Ok(self.open(1, 1))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Unusual> {
        Ok(self.open(1, 1))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Unusual> {
        self.variant(variant);
        Ok(self.open(1, 2))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Unusual> {
        Ok(self.open(1, 1))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Compound<'a>, Unusual> {
        // serde_json's raw values and arbitrary-precision numbers travel as
        // structs of this name that its own serializer writes verbatim.
        if name == RAW_VALUE {
            let mut raw = self.open(0, 0);
            raw.raw = true;
            return Ok(raw);
        }
        if name.starts_with("$serde_json::private::") {
            return Err(Unusual);
        }
        Ok(self.open(1, 1))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Unusual> {
        self.variant(variant);
        Ok(self.open(1, 2))
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Unusual;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unusual> {
        self.comma();
        value.serialize(&mut *self.len)
    }
    fn end(self) -> Result<(), Unusual> {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Unusual;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unusual> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Unusual> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Unusual;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unusual> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Unusual> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Unusual;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unusual> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Unusual> {
        self.finish()
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Unusual;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unusual> {
        self.comma();
        key.serialize(KeyLen {
            len: self.len,
            raw: false,
        })?;
        self.len.0 += 1;
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unusual> {
        value.serialize(&mut *self.len)
    }
    fn end(self) -> Result<(), Unusual> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Unusual;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unusual> {
        if self.raw {
            return value.serialize(KeyLen {
                len: self.len,
                raw: true,
            });
        }
        self.comma();
        self.len.0 += string_len(key) + 1;
        value.serialize(&mut *self.len)
    }
    fn end(self) -> Result<(), Unusual> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Unusual;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unusual> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Unusual> {
        self.finish()
    }
}

/// A map key: serde_json writes strings as they are and integers quoted;
/// any other key goes to serde_json. Or (`raw`) the text of a raw value,
/// written as it is.
struct KeyLen<'a> {
    len: &'a mut Len,
    raw: bool,
}

impl KeyLen<'_> {
    fn add(self, n: usize) -> Result<(), Unusual> {
        if self.raw {
            return Err(Unusual);
        }
        self.len.0 += n;
        Ok(())
    }
}

impl ser::Serializer for KeyLen<'_> {
    type Ok = ();
    type Error = Unusual;
    type SerializeSeq = ser::Impossible<(), Unusual>;
    type SerializeTuple = ser::Impossible<(), Unusual>;
    type SerializeTupleStruct = ser::Impossible<(), Unusual>;
    type SerializeTupleVariant = ser::Impossible<(), Unusual>;
    type SerializeMap = ser::Impossible<(), Unusual>;
    type SerializeStruct = ser::Impossible<(), Unusual>;
    type SerializeStructVariant = ser::Impossible<(), Unusual>;

    fn serialize_str(self, v: &str) -> Result<(), Unusual> {
        if self.raw {
            self.len.0 += v.len();
            return Ok(());
        }
        self.add(string_len(v))
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unusual> {
        self.add(2 + signed_len(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unusual> {
        self.add(2 + signed_len(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unusual> {
        self.add(2 + signed_len(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unusual> {
        self.add(2 + signed_len(v.into()))
    }
    fn serialize_i128(self, v: i128) -> Result<(), Unusual> {
        self.add(2 + signed_len(v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unusual> {
        self.add(2 + unsigned_len(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unusual> {
        self.add(2 + unsigned_len(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unusual> {
        self.add(2 + unsigned_len(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unusual> {
        self.add(2 + unsigned_len(v.into()))
    }
    fn serialize_u128(self, v: u128) -> Result<(), Unusual> {
        self.add(2 + unsigned_len(v))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unusual> {
        value.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_f32(self, _: f32) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_f64(self, _: f64) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_char(self, _: char) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_none(self) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_unit(self) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unusual> {
        Err(Unusual)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unusual> {
        Err(Unusual)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unusual> {
        Err(Unusual)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unusual> {
        Err(Unusual)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unusual> {
        Err(Unusual)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unusual> {
        Err(Unusual)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Unusual> {
        Err(Unusual)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unusual> {
        Err(Unusual)
    }
}

#[cfg(test)]
#[path = "json_len_tests.rs"]
mod tests;
