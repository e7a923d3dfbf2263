//! stitch-store
