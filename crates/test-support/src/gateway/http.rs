//! A small HTTP/1.1 client over a plain `TcpStream`: it sends exactly the bytes a test writes
//! (duplicate headers, bad bytes, a body that never ends, an absolute-form target) and reads
//! the answer as it arrives, so a test can see a cut stream, a missing terminating chunk or a
//! status line alone. Every read gives up after [`HANG`], so a hung gateway fails the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// A client gives up on a gateway that says nothing for this long.
pub const HANG: Duration = Duration::from_secs(60);

/// A whole response.
pub struct Http {
    /// The status line as sent (`HTTP/1.1 200 OK`).
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HTTP {} {:?} {}",
            self.status,
            self.headers,
            String::from_utf8_lossy(&self.body[..self.body.len().min(2000)])
        )
    }
}

impl Http {
    /// The first header of this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// Asserts an OpenAI error body with this status and code; returns its message.
    #[track_caller]
    pub fn openai_error(&self, status: u16, code: Option<&str>) -> String {
        assert_eq!(self.status, status, "{self:?}");
        let body = self.json();
        let error = &body["error"];
        assert!(error["type"].is_string(), "{body}");
        assert_eq!(error["code"].as_str(), code, "{body}");
        error["message"].as_str().unwrap().to_string()
    }
}

/// The body of a response as it arrives: chunked, sized or up to the end of the connection.
pub struct Body {
    inner: BufReader<TcpStream>,
    chunked: bool,
    /// Bytes left in the current chunk (chunked) or in the body (sized).
    left: u64,
    sized: bool,
    /// The chunked body ended with its terminating chunk (not a cut connection).
    clean_end: bool,
    done: bool,
}

impl Body {
    /// A chunked body ended with its terminating chunk (it was not cut).
    pub fn clean_end(&self) -> bool {
        self.clean_end
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.chunked && self.left == 0 {
            let mut line = String::new();
            if self.inner.read_line(&mut line)? == 0 {
                self.done = true;
                return Ok(0);
            }
            let size = line.trim().split(';').next().unwrap_or("");
            let size = u64::from_str_radix(size, 16).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("chunk {line:?}"))
            })?;
            if size == 0 {
                loop {
                    line.clear();
                    if self.inner.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                self.clean_end = true;
                self.done = true;
                return Ok(0);
            }
            self.left = size;
        }
        if self.sized && self.left == 0 {
            self.done = true;
            return Ok(0);
        }
        let want = if self.chunked || self.sized {
            buf.len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX))
        } else {
            buf.len()
        };
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            self.done = true;
            return Ok(0);
        }
        if self.chunked || self.sized {
            self.left -= n as u64;
        }
        if self.chunked && self.left == 0 {
            let mut crlf = [0u8; 2];
            self.inner.read_exact(&mut crlf)?;
        }
        Ok(n)
    }
}

/// Response head as read by [`send`]: status, headers, and the body still to read.
pub struct Head {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// Writes `raw` on `stream` and reads the status line and headers of the response.
pub fn send_head(mut stream: TcpStream, raw: &[u8]) -> Head {
    stream.set_read_timeout(Some(HANG)).unwrap();
    stream.write_all(raw).unwrap();
    let mut inner = BufReader::new(stream);
    let mut line = String::new();
    inner.read_line(&mut line).unwrap();
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP status line: {line:?}"));
    let status_line = line.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        inner.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').unwrap();
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let chunked = get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let length = get("content-length").and_then(|v| v.parse::<u64>().ok());
    let body = Body {
        inner,
        chunked,
        left: length.unwrap_or(0),
        sized: !chunked && length.is_some(),
        clean_end: false,
        done: false,
    };
    Head {
        status_line,
        status,
        headers,
        body,
    }
}

/// [`send_head`] as a tuple: status, headers, body.
pub fn send(stream: TcpStream, raw: &[u8]) -> (u16, Vec<(String, String)>, Body) {
    let head = send_head(stream, raw);
    (head.status, head.headers, head.body)
}

/// Writes `raw` on `stream` and reads the whole response.
pub fn exchange(stream: TcpStream, raw: &[u8]) -> Http {
    let mut head = send_head(stream, raw);
    let mut bytes = Vec::new();
    head.body.read_to_end(&mut bytes).unwrap();
    Http {
        status_line: head.status_line,
        status: head.status,
        headers: head.headers,
        body: bytes,
    }
}

/// A new connection to `127.0.0.1:port`.
pub fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).unwrap()
}

/// The bytes of a request with `Host` and `Connection: close` (unless `headers` sets them);
/// a `body` is sent as JSON with its length.
pub fn raw_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Vec<u8> {
    let mut raw = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        raw.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("connection"))
    {
        raw.push_str("Connection: close\r\n");
    }
    for (n, v) in headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    if let Some(b) = body {
        raw.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    raw.push_str("\r\n");
    raw.push_str(body.unwrap_or(""));
    raw.into_bytes()
}

/// A whole exchange on a new connection to `127.0.0.1:port`.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Http {
    exchange(
        connect(port),
        &raw_request(port, method, path, headers, body),
    )
}
