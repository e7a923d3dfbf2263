//! stitch-engine
