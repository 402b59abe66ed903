//! One node's `/metrics` body as fetched by the client.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The `/metrics` body of one FE, BE or CN, as read by the client within its size cap.
///
/// The body is kept whole (not as parsed samples) so that the engine can run the zero-copy parser
/// over it once, taking only the series it needs and counting the lines it skips; the client has
/// only checked that it starts like a metrics body (at least one valid sample when any line is
/// bad).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsScrape {
    /// The raw response body (Prometheus text format 0.0.4).
    pub body: Vec<u8>,
    /// When the response was complete, taken by the caller's clock (the engine reads no clock).
    #[serde(with = "time::serde::rfc3339")]
    pub fetched_at: OffsetDateTime,
    /// How long the request took, in milliseconds.
    pub duration_ms: u64,
}
