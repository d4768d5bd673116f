//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses its own subset

use std::sync::Mutex;
use std::sync::mpsc::Sender;

use script_harness_core::{Host, Outgoing};

/// A host that hands every batch to a channel the test reads.
pub struct ChannelHost(pub Mutex<Sender<Vec<Outgoing>>>);

impl Host for ChannelHost {
    fn deliver(&self, batch: Vec<Outgoing>) {
        let _ = self.0.lock().unwrap().send(batch);
    }
}

/// xorshift64: reproducible cases without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}
