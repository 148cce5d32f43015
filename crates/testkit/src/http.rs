//! Just enough HTTP/1.1 framing for the fault proxy to find where one request or response ends
//! (`Content-Length`, `Transfer-Encoding: chunked`, or until close), keeping the raw bytes so
//! that what it forwards, replays or withholds is exactly what crossed the wire.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest head (request or status line plus headers) accepted.
const MAX_HEAD: usize = 64 * 1024;

/// One HTTP message as it was read, with what the proxy needs to know about it.
#[derive(Debug, Clone)]
pub struct Message {
    /// Every byte of the message, head and body.
    pub raw: Vec<u8>,
    /// The request target (`/api/...?...`) for requests, the status code's text for responses.
    pub start: String,
    pub method: String,
    /// The peer asked to close the connection after this message, or the body ran until close.
    pub close: bool,
}

impl Message {
    /// The request target without its query string.
    pub fn path(&self) -> &str {
        self.start.split('?').next().unwrap_or_default()
    }
}

/// Reads bytes from `io` through a carry-over buffer, so bytes read past one message begin the
/// next one.
pub struct Reader<R> {
    io: R,
    buf: Vec<u8>,
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl<R: AsyncRead + Unpin> Reader<R> {
    pub fn new(io: R) -> Self {
        Reader { io, buf: Vec::new() }
    }

    /// Reads more bytes into the buffer; `Ok(false)` at end of stream.
    async fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.io.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// The index just past the next `\r\n` at or after `from`, reading as needed.
    async fn line_end(&mut self, from: usize) -> io::Result<usize> {
        loop {
            if let Some(i) = self.buf[from..].windows(2).position(|w| w == b"\r\n") {
                return Ok(from + i + 2);
            }
            if self.buf.len() - from > MAX_HEAD {
                return Err(bad("line too long"));
            }
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    async fn want(&mut self, len: usize) -> io::Result<()> {
        while self.buf.len() < len {
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    /// The index just past a chunked body that starts at `at` (chunks, then trailers up to an
    /// empty line).
    async fn chunked_end(&mut self, mut at: usize) -> io::Result<usize> {
        loop {
            let line_end = self.line_end(at).await?;
            let size_text = String::from_utf8_lossy(&self.buf[at..line_end - 2]).into_owned();
            let size_text = size_text.split(';').next().unwrap_or_default().trim().to_string();
            let size = usize::from_str_radix(&size_text, 16).map_err(|_| bad("chunk size"))?;
            if size > 0 {
                self.want(line_end + size + 2).await?;
                at = line_end + size + 2;
                continue;
            }
            let mut t = line_end;
            loop {
                let e = self.line_end(t).await?;
                if e == t + 2 {
                    return Ok(e);
                }
                t = e;
            }
        }
    }

    /// The next message; `Ok(None)` when the stream ends cleanly before one starts.
    /// `request_method` is `Some` when reading a response (a response to HEAD has no body).
    pub async fn next(&mut self, request_method: Option<&str>) -> io::Result<Option<Message>> {
        if self.buf.is_empty() && !self.fill().await? {
            return Ok(None);
        }
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("head too long"));
            }
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let first: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
        let (method, start) = match request_method {
            None => (first.first().copied().unwrap_or_default(), first.get(1).copied().unwrap_or_default()),
            Some(m) => (m, first.get(1).copied().unwrap_or_default()),
        };
        let (mut length, mut chunked, mut close) = (None, false, false);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else { continue };
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_ascii_lowercase());
            match name.as_str() {
                "content-length" => length = Some(value.parse::<usize>().map_err(|_| bad("content-length"))?),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "connection" => close = value.contains("close"),
                _ => {}
            }
        }
        let no_body = match request_method {
            None => false,
            Some(m) => m == "HEAD" || start.starts_with('1') || start == "204" || start == "304",
        };
        let end = if no_body {
            head_end
        } else if chunked {
            self.chunked_end(head_end).await?
        } else if let Some(n) = length {
            self.want(head_end + n).await?;
            head_end + n
        } else if request_method.is_some() {
            // A response without a length runs until the connection closes.
            while self.fill().await? {}
            close = true;
            self.buf.len()
        } else {
            head_end
        };
        let raw: Vec<u8> = self.buf.drain(..end).collect();
        Ok(Some(Message { raw, start: start.to_string(), method: method.to_string(), close }))
    }
}

#[cfg(test)]
mod tests {
    use super::Reader;

    async fn messages(bytes: &[u8], responses_to: Option<&str>) -> Vec<(String, usize, bool)> {
        let mut r = Reader::new(bytes);
        let mut out = Vec::new();
        while let Some(m) = r.next(responses_to).await.expect("framing") {
            out.push((m.start.clone(), m.raw.len(), m.close));
        }
        out
    }

    #[tokio::test]
    async fn requests_by_length_and_without_body() {
        let get = "GET /a/?x=1 HTTP/1.1\r\nHost: h\r\n\r\n";
        let post = "POST /b/ HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        let got = messages(format!("{get}{post}").as_bytes(), None).await;
        assert_eq!(got, vec![("/a/?x=1".into(), get.len(), false), ("/b/".into(), post.len(), true)]);
    }

    #[tokio::test]
    async fn responses_chunked_by_length_and_until_close() {
        let chunked =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n";
        let empty = "HTTP/1.1 204 No Content\r\n\r\n";
        let sized = "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}";
        let rest = "HTTP/1.1 200 OK\r\n\r\nuntil the end";
        let got = messages(format!("{chunked}{empty}{sized}{rest}").as_bytes(), Some("GET")).await;
        assert_eq!(
            got,
            vec![
                ("200".into(), chunked.len(), false),
                ("204".into(), empty.len(), false),
                ("404".into(), sized.len(), false),
                ("200".into(), rest.len(), true),
            ]
        );
    }

    #[tokio::test]
    async fn a_truncated_message_is_an_error() {
        let mut r = Reader::new(&b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..]);
        assert!(r.next(Some("GET")).await.is_err());
    }
}
