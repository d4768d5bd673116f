//! `console.*` and `context.emitProgress`: kept, capped and counted.

use std::time::{Duration, Instant};

use super::cell::ScriptCell;
use crate::events::EventKind;
use crate::result::{LogEntry, LogLevel};
use crate::text::truncate_utf8;

/// `context.emitProgress`: at most one event per interval, so many per
/// script, each this long at most; the rest is dropped and counted.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);
const MAX_PROGRESS_EVENTS: u32 = 50;
const MAX_PROGRESS_BYTES: usize = 1024;

/// Longest console message kept, in bytes.
const MAX_LOG_MESSAGE_BYTES: usize = 8 * 1024;
/// Console output kept per script, in bytes, whatever `maxLogEvents` says.
const MAX_LOG_BYTES: usize = 4 * 1024 * 1024;

impl ScriptCell {
    /// `console.*`: kept up to `maxLogEvents`, the rest counted.
    pub fn log(&self, level: u32, mut message: String) {
        // After a limit or a cancel nothing more happens, logs included.
        if self.terminal().is_some() {
            return;
        }
        self.with_state(|s| {
            truncate_utf8(&mut message, MAX_LOG_MESSAGE_BYTES);
            if s.logs.len() as u64 >= s.limits.max_log_events
                || s.log_bytes + message.len() > MAX_LOG_BYTES
            {
                s.logs_dropped += 1;
                return;
            }
            s.log_bytes += message.len();
            let level = LogLevel::from_index(level);
            s.emit(EventKind::Console {
                level,
                message: message.clone(),
            });
            s.logs.push(LogEntry { level, message });
        });
    }

    /// `context.emitProgress`.
    pub fn progress(&self, mut message: String, _kind: String) {
        if self.terminal().is_some() {
            return;
        }
        self.with_state(|s| {
            let now = Instant::now();
            let too_soon = s
                .last_progress
                .is_some_and(|t| now.duration_since(t) < PROGRESS_INTERVAL);
            if too_soon || s.progress_sent >= MAX_PROGRESS_EVENTS {
                s.progress_dropped += 1;
                return;
            }
            s.progress_sent += 1;
            s.last_progress = Some(now);
            truncate_utf8(&mut message, MAX_PROGRESS_BYTES);
            s.emit(EventKind::Progress { message });
        });
    }
}
