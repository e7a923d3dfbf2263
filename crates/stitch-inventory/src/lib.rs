//! stitch-inventory
