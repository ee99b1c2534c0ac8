//! Stage 4: offers → saved plan (Listings Items PATCH requests or JSON_LISTINGS_FEED documents).

pub mod model;
