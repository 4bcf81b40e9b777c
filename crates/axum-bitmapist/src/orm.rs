//! SeaORM hooks: `{model}:created`, `{model}:updated`, `{model}:deleted`, marked with the
//! model's id after the write succeeds. One line opts a model in:
//! [`bitmapist_model!`](crate::bitmapist_model).
//!
//! ```ignore
//! // In the entity module, instead of `impl ActiveModelBehavior for ActiveModel {}`:
//! axum_bitmapist::bitmapist_model!(ActiveModel, "user");
//! // Another id column (e.g. marks of a document for its owner):
//! axum_bitmapist::bitmapist_model!(ActiveModel, "document", id = Column::OwnerId);
//! ```
//!
//! The hooks are shared with the other web adapters (`bitmapist_web::orm`, where what
//! fires and what does not is listed): they mark through the process's installed marker,
//! which [`AxumBitmapist`]'s builder installs (the last one built wins). A hook never waits
//! on the store and never fails the write; with no extension built, hooks log a warning and
//! do nothing.

pub use bitmapist_web::orm::*;

use crate::extension::AxumBitmapist;

/// Makes `ext` the extension the ORM hooks mark through (the same as
/// [`AxumBitmapist::make_current`]; [`Builder::build`](crate::Builder::build) does it, the
/// last one built wins).
pub fn install(ext: &AxumBitmapist) {
    ext.make_current();
}
