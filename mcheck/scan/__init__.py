"""The Rust front end: `mcheck scan` (docs/scan.md)."""
