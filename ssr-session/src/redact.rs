//! Fingerprints that stand for a token in logs and `Debug` output.

use std::fmt;

/// Displays a short fingerprint of a token (the first 6 bytes of its
/// SHA-256, in hex): enough to tell two tokens apart in logs, useless for
/// replaying one. The hash is computed only when the value is displayed, so
/// a disabled log event costs nothing.
#[derive(Clone, Copy)]
pub struct Fingerprint<'a>(pub &'a [u8]);

impl fmt::Display for Fingerprint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digest = crate::backend::sha256(self.0);
        f.write_str("jwt#")?;
        for byte in &digest[..6] {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
