//! Protocol errors in the API's JSON error shape.
//!
//! actix-http answers a request it cannot parse itself, in its h1 dispatcher, before any
//! service runs and with no hook to shape the answer: `400 Bad Request` for a request line or
//! header that is not HTTP, `431 Request Header Fields Too Large` for a head over its limits,
//! `408 Request Timeout` for a head not complete in time, each with an empty body, and then it
//! closes the connection. Every other error of the API has the body
//! `{"error": {"code", "message"}}`.
//!
//! [`JsonProtocolErrors`] wraps a connection's stream below actix-http and writes, in place of
//! exactly such a response head, the same status with the JSON body of
//! [`rockscope_api::protocol_error_body`]. A head qualifies only when it is the last thing in a
//! write and has exactly the dispatcher's form: the status line, `content-length: 0`, at most a
//! `connection` header, `date`, the empty line. A response of the application always carries a
//! body or other headers (the API's errors are JSON; the pages are files), and no JSON body holds
//! a raw line break, so nothing else matches. Every other byte passes through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest head [`dispatcher_error_at`] recognises (status line, three headers).
const MAX_ERROR_HEAD: usize = 160;
/// The length of an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
const DATE_LEN: usize = 29;

/// A connection's stream whose protocol-error responses from actix-http get a JSON body.
#[derive(Debug)]
pub struct JsonProtocolErrors<T> {
    io: T,
    /// The JSON response that replaces a protocol error, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonProtocolErrors<T> {
    pub fn new(io: T) -> Self {
        JsonProtocolErrors { io, pending: None }
    }
}

impl<T: AsyncWrite + Unpin> JsonProtocolErrors<T> {
    /// Writes what is left of a replacement response; ready when nothing is left.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonProtocolErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonProtocolErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        match dispatcher_error_at(buf) {
            None => Pin::new(&mut this.io).poll_write(cx, buf),
            // What comes before the error response is written first, as it is.
            Some((at, _)) if at > 0 => Pin::new(&mut this.io).poll_write(cx, &buf[..at]),
            Some((_, replacement)) => {
                this.pending = Some((replacement, 0));
                // The caller's bytes are taken; the replacement is written now or by the next
                // write, flush or shutdown.
                if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(buf.len()))
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Where in `buf` an error response of actix-http's dispatcher starts (it ends `buf`), and the
/// JSON response to write instead.
fn dispatcher_error_at(buf: &[u8]) -> Option<(usize, Vec<u8>)> {
    if !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let from = buf.len().saturating_sub(MAX_ERROR_HEAD);
    (from..buf.len())
        .filter(|&at| buf[at..].starts_with(b"HTTP/1."))
        .find_map(|at| json_replacement(&buf[at..]).map(|json| (at, json)))
}

/// The JSON response that replaces `head` when `head` is exactly a dispatcher's error response.
fn json_replacement(head: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.strip_suffix("\r\n\r\n")?.split("\r\n");
    let status_line = lines.next()?;
    let (version, rest) = status_line.split_once(' ')?;
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return None;
    }
    let (code, reason) = rest.split_once(' ')?;
    let status = StatusCode::from_bytes(code.as_bytes()).ok()?;
    if status.canonical_reason() != Some(reason) {
        return None;
    }
    let body = rockscope_api::protocol_error_body(status)?;
    let header = |line: Option<&str>, name: &str| {
        line.and_then(|l| l.split_once(": "))
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.to_owned())
    };
    if header(lines.next(), "content-length")? != "0" {
        return None;
    }
    let mut next = lines.next();
    if let Some(value) = header(next, "connection") {
        if value != "close" && value != "keep-alive" {
            return None;
        }
        next = lines.next();
    }
    let date = header(next, "date").filter(|d| d.len() == DATE_LEN)?;
    if lines.next().is_some() {
        return None;
    }
    // The dispatcher closes the connection after such a response, whatever its head said.
    let mut response = format!(
        "{status_line}\r\ncontent-length: {}\r\nconnection: close\r\n\
         content-type: application/json\r\ndate: {date}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body.as_bytes());
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "Sun, 06 Dec 2026 06:17:21 GMT";

    fn replaced(buf: &str) -> Option<(usize, String)> {
        dispatcher_error_at(buf.as_bytes()).map(|(at, json)| (at, String::from_utf8(json).unwrap()))
    }

    #[test]
    fn the_dispatchers_error_heads_are_replaced_by_json() {
        // As actix-http 3 writes them: a first request, and one after a keep-alive request.
        for (head, status) in [
            (
                format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: {DATE}\r\n\r\n"
                ),
                "HTTP/1.1 400 Bad Request",
            ),
            (
                format!(
                    "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\ndate: {DATE}\r\n\r\n"
                ),
                "HTTP/1.1 431 Request Header Fields Too Large",
            ),
            (
                format!(
                    "HTTP/1.0 408 Request Timeout\r\ncontent-length: 0\r\nconnection: keep-alive\r\ndate: {DATE}\r\n\r\n"
                ),
                "HTTP/1.0 408 Request Timeout",
            ),
            (
                format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n"),
                "HTTP/1.1 400 Bad Request",
            ),
        ] {
            let (at, json) = replaced(&head).unwrap_or_else(|| panic!("{head:?}"));
            assert_eq!(at, 0);
            let (new_head, body) = json.split_once("\r\n\r\n").unwrap();
            assert!(new_head.starts_with(&format!("{status}\r\n")), "{json}");
            assert!(
                new_head.contains("content-type: application/json"),
                "{json}"
            );
            assert!(new_head.contains("connection: close"), "{json}");
            assert!(new_head.contains(&format!("date: {DATE}")), "{json}");
            assert!(new_head.contains(&format!("content-length: {}", body.len())));
            let value: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(value["error"]["code"].is_string(), "{body}");
        }
    }

    #[test]
    fn an_error_after_a_response_is_found_where_it_starts() {
        let ok = "HTTP/1.1 200 OK\r\ncontent-length: 15\r\ncontent-type: application/json\r\n\
                  date: Sun, 06 Dec 2026 06:17:21 GMT\r\n\r\n{\"status\":\"ok\"}";
        let error =
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n");
        let (at, _) = replaced(&format!("{ok}{error}")).expect("found");
        assert_eq!(at, ok.len());
    }

    #[test]
    fn every_other_response_passes_untouched() {
        for other in [
            // The API's own 400, with its JSON body.
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\ncontent-type: application/json\r\ndate: {DATE}\r\n\r\n{{}}"
            ),
            // An empty 400 with another header, and other statuses without a body.
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nallow: GET\r\ndate: {DATE}\r\n\r\n"
            ),
            format!("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n"),
            format!("HTTP/1.1 204 No Content\r\ndate: {DATE}\r\n\r\n"),
            // A wrong reason phrase, a body announced, a head cut short.
            format!("HTTP/1.1 400 Bad\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n"),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\ndate: {DATE}\r\n\r\n"),
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n".to_owned(),
        ] {
            assert_eq!(replaced(&other), None, "{other:?}");
        }
    }
}
