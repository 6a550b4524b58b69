//! A minimal blocking RESP2 client: enough to send a command and read its reply.
//!
//! The harness uses it to check that a server replies, and tests use it to
//! read settings back. It is no general client: there is no pipelining and
//! no RESP3.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Maximum length of one bulk string or array, the default of the server's
/// `proto-max-bulk-len` (512 MiB).
const MAX_LENGTH: usize = 512 * 1024 * 1024;

/// One RESP2 reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A simple string such as `OK` or `PONG`.
    Simple(String),
    /// An error reply such as `NOAUTH Authentication required.`.
    Error(String),
    /// An integer reply.
    Integer(i64),
    /// A bulk string.
    Bulk(Vec<u8>),
    /// An array of replies.
    Array(Vec<Reply>),
    /// A null bulk string or a null array.
    Nil,
}

/// A blocking connection that sends one command at a time.
#[derive(Debug)]
pub struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    /// Connects to `addr`; `timeout` bounds the connect and every later read
    /// and write.
    ///
    /// # Errors
    ///
    /// Returns the I/O error of the connect or of setting the timeouts.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        let writer = stream.try_clone()?;
        Ok(Self {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one command and reads its reply. An error reply is `Ok`.
    ///
    /// # Errors
    ///
    /// Returns the I/O error of the write or the read, `TimedOut` or
    /// `WouldBlock` when the reply does not come within the timeout, and
    /// `InvalidData` when the reply is not valid RESP2.
    pub fn command<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Reply> {
        self.writer.write_all(&encode_command(args))?;
        read_reply(&mut self.reader)
    }
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one complete reply.
///
/// # Errors
///
/// Returns the reader's I/O error, `UnexpectedEof` when the stream ends
/// inside a reply and `InvalidData` when the bytes are not RESP2.
pub fn read_reply<R: BufRead>(reader: &mut R) -> io::Result<Reply> {
    let line = read_line(reader)?;
    let (kind, rest) = line
        .split_first()
        .ok_or_else(|| invalid("empty reply line".to_owned()))?;
    let text = String::from_utf8_lossy(rest).into_owned();
    match kind {
        b'+' => Ok(Reply::Simple(text)),
        b'-' => Ok(Reply::Error(text)),
        b':' => Ok(Reply::Integer(parse_integer(&text)?)),
        b'$' => read_bulk(reader, &text),
        b'*' => read_array(reader, &text),
        other => Err(invalid(format!(
            "unknown reply type byte {:?}",
            char::from(*other)
        ))),
    }
}

fn read_bulk<R: BufRead>(reader: &mut R, header: &str) -> io::Result<Reply> {
    let Some(len) = parse_length(header)? else {
        return Ok(Reply::Nil);
    };
    let mut body = vec![0; len + 2];
    reader.read_exact(&mut body)?;
    if !body.ends_with(b"\r\n") {
        return Err(invalid("bulk string does not end with CRLF".to_owned()));
    }
    body.truncate(len);
    Ok(Reply::Bulk(body))
}

fn read_array<R: BufRead>(reader: &mut R, header: &str) -> io::Result<Reply> {
    let Some(len) = parse_length(header)? else {
        return Ok(Reply::Nil);
    };
    let items = (0..len)
        .map(|_| read_reply(reader))
        .collect::<io::Result<Vec<_>>>()?;
    Ok(Reply::Array(items))
}

/// Reads one line without its CRLF.
fn read_line<R: BufRead>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a reply",
        ));
    }
    if !line.ends_with(b"\r\n") {
        return Err(invalid(format!(
            "reply line does not end with CRLF: {:?}",
            String::from_utf8_lossy(&line)
        )));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn parse_integer(text: &str) -> io::Result<i64> {
    text.parse()
        .map_err(|_| invalid(format!("invalid integer {text:?}")))
}

/// Parses a bulk or array length; `-1` is the null value.
fn parse_length(text: &str) -> io::Result<Option<usize>> {
    match parse_integer(text)? {
        -1 => Ok(None),
        len => usize::try_from(len)
            .ok()
            .filter(|len| *len <= MAX_LENGTH)
            .map(Some)
            .ok_or_else(|| invalid(format!("invalid length {len}"))),
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> io::Result<Reply> {
        read_reply(&mut &bytes[..])
    }

    #[test]
    fn command_encodes_as_array_of_bulk_strings() {
        let encoded = encode_command(&["CONFIG", "GET", ""]);

        assert_eq!(encoded, b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$0\r\n\r\n");
    }

    #[test]
    fn every_reply_type_parses() {
        let cases: [(&[u8], Reply); 7] = [
            (b"+PONG\r\n", Reply::Simple("PONG".to_owned())),
            (b"-ERR no\r\n", Reply::Error("ERR no".to_owned())),
            (b":-42\r\n", Reply::Integer(-42)),
            (b"$5\r\na\r\nbc\r\n", Reply::Bulk(b"a\r\nbc".to_vec())),
            (b"$-1\r\n", Reply::Nil),
            (b"*-1\r\n", Reply::Nil),
            (
                b"*2\r\n$1\r\nk\r\n*1\r\n:1\r\n",
                Reply::Array(vec![
                    Reply::Bulk(b"k".to_vec()),
                    Reply::Array(vec![Reply::Integer(1)]),
                ]),
            ),
        ];

        for (bytes, expected) in cases {
            let reply = parse(bytes).unwrap();
            assert_eq!(
                reply,
                expected,
                "input {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn malformed_replies_are_invalid_data() {
        let cases: [&[u8]; 5] = [
            b"?x\r\n",
            b"+PONG\n",
            b":abc\r\n",
            b"$-2\r\n",
            b"$3\r\nabcd\r\n",
        ];

        for bytes in cases {
            let error = parse(bytes).unwrap_err();
            assert_eq!(
                error.kind(),
                io::ErrorKind::InvalidData,
                "input {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn truncated_reply_is_unexpected_eof() {
        for bytes in [&b""[..], b"$5\r\nab", b"*2\r\n:1\r\n"] {
            let error = parse(bytes).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        }
    }
}
