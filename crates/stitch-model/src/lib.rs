//! stitch-model
