//! stitch-vtep
