//! The read deadline of a request body.
//!
//! actix bounds the time to receive a request's head (`client_request_timeout`), not its body:
//! a client that announces `Content-Length: 60000`, sends one byte and then nothing would hold
//! its connection (and a file descriptor) for good, and enough of them stop the server from
//! accepting `/health`. Every body under `/api` must arrive within [`BODY_READ_TIMEOUT`] of the
//! head; later, the read fails with `408 request_timeout` and the connection is closed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::rt::time::{Sleep, sleep};
use actix_web::web::Bytes;
use futures_core::Stream;

/// How long a request body may take to arrive, from the end of its head.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request head (actix-http's `client_request_timeout`,
/// which the binary sets); later, actix-http answers `408` itself (see
/// [`protocol_error_body`](crate::protocol_error_body)).
pub const HEAD_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Middleware (via `middleware::from_fn`): the request's payload, failing at the deadline.
pub(crate) async fn read_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let inner = req.take_payload();
    let timed = Deadline {
        inner,
        sleep: Box::pin(sleep(BODY_READ_TIMEOUT)),
        expired: false,
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(timed),
    });
    next.call(req).await
}

/// A payload that yields a `TimedOut` error once its deadline passes.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    expired: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if this.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        this.expired = true;
        Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the request body did not arrive within {} s",
                BODY_READ_TIMEOUT.as_secs()
            ),
        )))))
    }
}
