//! stitch-api
