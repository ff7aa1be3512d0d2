//! nave-sdk (being written).
